// The engines Kubernetes discovery has seen, and which of them are in
// rotation: an engine enters once Kubernetes calls it ready and its
// /v1/models has answered (retried with back-off until it does), and leaves
// the moment an event says it is not ready, terminating or gone. Every change
// of the set is handed on at once, synchronously with the event; every change
// of an engine's state is logged once. Clock, timers and the model fetch are
// injected, so this is tested without sockets.
import type { ModelsFetcher } from './engine-models.js';
import type { EngineCondition, EngineView } from './k8s-objects.js';

export type LogFn = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

/** An engine in rotation, as discovery hands it to the router. */
export interface DiscoveredEngine {
  url: string;
  models: string[];
  /** The pod's `model` label, or 'default'. */
  label: string;
  /** The pod (or Service) name and namespace. */
  name: string;
  namespace: string;
  /** When Kubernetes saw it turn Ready, else when discovery did (ISO time). */
  readySince: string;
}

export interface TrackerDeps {
  /** What kind of object an engine is, for the logs: "pod" or "service". */
  kind: string;
  fetchModels: ModelsFetcher;
  /** Receives the whole set of engines in rotation after every change. */
  apply(engines: DiscoveredEngine[]): void;
  log: LogFn;
  now(): number;
  /** Calls fn after ms; returns what cancels it. */
  after(ms: number, fn: () => void): () => void;
  /** First retry delay of a failed /v1/models; it doubles up to retryMaxMs. */
  retryMinMs: number;
  retryMaxMs: number;
}

type Phase = 'waiting' | 'fetching' | 'serving';

interface Tracked {
  view: EngineView;
  phase: Phase;
  models: string[];
  readySince: string;
  attempts: number;
  /** Bumped whenever a fetch in progress must be forgotten. */
  generation: number;
  cancelRetry: (() => void) | null;
  warned: boolean;
}

const WHY_OUT: Record<Exclude<EngineCondition, 'ready'>, string> = {
  'not-ready': 'not ready',
  terminating: 'terminating',
  'no-address': 'has no address yet',
};

export interface EngineState {
  name: string;
  url: string | null;
  condition: EngineCondition;
  in_rotation: boolean;
  models: string[];
  ready_since: string | null;
  models_attempts: number;
}

export class EngineTracker {
  private readonly engines = new Map<string, Tracked>();
  private stopped = false;

  constructor(private readonly deps: TrackerDeps) {}

  /** An ADDED or MODIFIED event (or a listed object). */
  observe(view: EngineView): void {
    if (this.stopped) return;
    let t = this.engines.get(view.name);
    const fresh = t === undefined;
    if (t === undefined) {
      t = { view, phase: 'waiting', models: [], readySince: '', attempts: 0, generation: 0, cancelRetry: null, warned: false };
      this.engines.set(view.name, t);
    }
    const before = t.view;
    t.view = view;
    if (view.condition !== 'ready' || view.url === null) {
      const wasIn = t.phase === 'serving';
      this.leave(t);
      if (fresh || wasIn || before.condition !== view.condition) {
        const why = WHY_OUT[view.condition as Exclude<EngineCondition, 'ready'>] ?? view.condition;
        this.deps.log('info', `${this.what(t)} ${fresh ? 'found, ' : ''}${why}${wasIn ? ': out of rotation' : ''}`);
      }
      return;
    }
    if (t.phase === 'serving' && before.url === view.url) {
      if (before.label !== view.label) this.publish();
      return;
    }
    if (t.phase === 'serving') {
      this.leave(t);
      this.deps.log('info', `${this.what(t)} moved from ${before.url} to ${view.url}: out of rotation until its models are listed`);
    }
    if (t.phase === 'waiting') this.fetch(t);
  }

  /** A DELETED event. */
  forget(name: string): void {
    const t = this.engines.get(name);
    if (!t) return;
    const wasIn = t.phase === 'serving';
    this.leave(t);
    this.engines.delete(name);
    this.deps.log('info', `${this.what(t)} deleted${wasIn ? ': out of rotation' : ''}`);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.engines.values()) {
      t.generation++;
      t.cancelRetry?.();
    }
  }

  inRotation(): DiscoveredEngine[] {
    return [...this.engines.values()]
      .filter((t) => t.phase === 'serving' && t.view.url !== null)
      .map((t) => ({ url: t.view.url as string, models: t.models, label: t.view.label ?? 'default', name: t.view.name, namespace: t.view.namespace, readySince: t.readySince }))
      .sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  }

  /** Every engine seen, in rotation or not, for /engines. */
  states(): EngineState[] {
    return [...this.engines.values()].map((t) => ({
      name: t.view.name, url: t.view.url, condition: t.view.condition, in_rotation: t.phase === 'serving',
      models: t.models, ready_since: t.phase === 'serving' ? t.readySince : t.view.readySince, models_attempts: t.attempts,
    })).sort((a, b) => a.name.localeCompare(b.name));
  }

  private what(t: Tracked): string {
    return `engine ${this.deps.kind} ${t.view.namespace ? `${t.view.namespace}/` : ''}${t.view.name}`;
  }

  /** Out of rotation (if it was), any fetch in progress forgotten. */
  private leave(t: Tracked): void {
    t.generation++;
    t.cancelRetry?.();
    t.cancelRetry = null;
    t.attempts = 0;
    t.warned = false;
    const wasIn = t.phase === 'serving';
    t.phase = 'waiting';
    if (wasIn) this.publish();
  }

  private fetch(t: Tracked): void {
    const url = t.view.url as string;
    const generation = ++t.generation;
    t.phase = 'fetching';
    t.cancelRetry = null;
    const current = () => !this.stopped && t.generation === generation && this.engines.get(t.view.name) === t;
    this.deps.fetchModels(url).then((models) => {
      if (!current()) return;
      t.phase = 'serving';
      t.models = models;
      t.readySince = t.view.readySince ?? new Date(this.deps.now()).toISOString();
      const retried = t.attempts;
      t.attempts = 0;
      t.warned = false;
      this.publish();
      this.deps.log('info', `${this.what(t)} ready at ${url} serving ${models.join(', ')}: in rotation${retried > 0 ? ` (after ${retried} failed /v1/models)` : ''}`);
    }, (err: unknown) => {
      if (!current()) return;
      t.attempts++;
      const delay = Math.min(this.deps.retryMinMs * 2 ** (t.attempts - 1), this.deps.retryMaxMs);
      if (!t.warned) {
        t.warned = true;
        this.deps.log('warn', `${this.what(t)} is ready but GET ${url}/v1/models failed (${(err as Error).message}): not in rotation, retrying with back-off`);
      }
      // Still 'fetching': further events of a ready engine do not start another fetch.
      t.cancelRetry = this.deps.after(delay, () => {
        if (current()) this.fetch(t);
      });
    });
  }

  private publish(): void {
    this.deps.apply(this.inRotation());
  }
}
