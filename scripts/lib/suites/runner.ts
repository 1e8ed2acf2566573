// The case runner: runs a suite's cases one after another, times them,
// turns a thrown error into a failed case with its message, undoes every
// perturbation a case made (even when it failed or was interrupted), and
// reports progress. A case passes only when it measured something and every
// check held; a skipped case always says why.
import type { SuiteContext } from './context.js';
import { EngineDirectory } from './engines.js';
import { deltas, hitRate, loadSkew, type EngineCounters } from './engine-metrics.js';
import type { CaseResult, CaseStatus, EngineUsage, SuiteName, SuiteResult } from './types.js';

export class SkipCase extends Error {}

export interface CaseDefinition {
  name: string;
  expectation: string;
  run(c: CaseRun): Promise<void>;
}

export interface SuiteDefinition {
  name: SuiteName;
  /** The cases for this node; may read the stack to size them. */
  cases(ctx: SuiteContext): Promise<CaseDefinition[] & Cleanup>;
}

/** A suite whose cases share a perturbation (a load, a scaled stack) puts it back here, even when interrupted. */
export interface Cleanup {
  cleanup?: () => Promise<void>;
}

interface Restore {
  what: string;
  undo: () => Promise<void>;
}

export class CaseRun {
  readonly measured: Record<string, unknown> = {};
  summary = '';
  private readonly failures: string[] = [];
  private readonly restores: Restore[] = [];
  private readonly perturbations: string[] = [];

  constructor(readonly ctx: SuiteContext) {}

  measure(values: Record<string, unknown>): void {
    Object.assign(this.measured, values);
  }

  /** Records a failed check (the case goes on measuring); returns whether it held. */
  check(ok: boolean, failure: string): boolean {
    if (!ok) this.failures.push(failure);
    return ok;
  }

  skip(reason: string): never {
    throw new SkipCase(reason);
  }

  /**
   * Changes the stack and registers how to put it back. The undo runs when
   * the case ends, whatever happened, and the result says both.
   */
  async perturb(what: string, apply: () => Promise<void>, undo: { what: string; run: () => Promise<void> }): Promise<void> {
    this.restores.push({ what: undo.what, undo: undo.run });
    this.perturbations.push(what);
    await apply();
  }

  /** Runs the registered undos now, latest first (a case that wants the stack back before it measures on). */
  async restoreNow(): Promise<void> {
    while (this.restores.length > 0) {
      const r = this.restores.pop() as Restore;
      try {
        await r.undo();
        this.perturbations.push(r.what);
      } catch (err) {
        this.failures.push(`could not ${r.what}: ${(err as Error).message}`);
        this.perturbations.push(`FAILED to ${r.what}`);
      }
    }
  }

  /** @internal */
  outcome(): { failures: string[]; perturbed: string | undefined } {
    return { failures: this.failures, perturbed: this.perturbations.length > 0 ? this.perturbations.join('; ') : undefined };
  }
}

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function runCase(suite: SuiteName, def: CaseDefinition, ctx: SuiteContext): Promise<CaseResult> {
  ctx.progress.beginCase(suite, def.name);
  const started = performance.now();
  const run = new CaseRun(ctx);
  let status: CaseStatus = 'passed';
  let reason: string | undefined;
  try {
    if (ctx.signal.aborted) throw new Error('the run was interrupted before this case');
    await def.run(run);
  } catch (err) {
    if (err instanceof SkipCase) {
      status = 'skipped';
      reason = err.message;
    } else {
      run.check(false, (err as Error).message);
    }
  }
  await run.restoreNow();
  const { failures, perturbed } = run.outcome();
  if (failures.length > 0) {
    status = 'failed';
    reason = failures.join('; ');
  }
  if (ctx.signal.aborted && status === 'passed') {
    status = 'failed';
    reason = 'interrupted';
  }
  const result: CaseResult = {
    name: def.name, status, expectation: def.expectation, measured: run.measured, summary: run.summary,
    ...(reason !== undefined ? { reason } : {}), ...(perturbed !== undefined ? { perturbed } : {}),
    duration_s: round((performance.now() - started) / 1000),
  };
  const mark = status === 'passed' ? '✓' : status === 'skipped' ? '-' : '✗';
  ctx.progress.endCase(`${ctx.expect.node}: ${mark} ${suite} › ${def.name} (${result.duration_s.toFixed(1)} s)${reason ? `: ${reason}` : ''}`, status === 'failed');
  return result;
}

function usage(before: Map<string, EngineCounters>, after: Map<string, EngineCounters>): EngineUsage[] {
  return [...deltas(before, after)].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([engine, d]) => {
    const rate = hitRate(d);
    return {
      engine, requests: d.succeeded, prefix_cache_queries: d.prefixQueries, prefix_cache_hits: d.prefixHits,
      prefix_cache_hit_rate: rate === null ? null : round(rate, 4),
    };
  });
}

export async function runSuite(def: SuiteDefinition, ctx: SuiteContext): Promise<SuiteResult> {
  const startedAt = new Date();
  const started = performance.now();
  // Engines that come and go during the suite count from their first reading.
  const before = await (await EngineDirectory.read(ctx)).counters(ctx);
  let cases: CaseResult[];
  let defs: (CaseDefinition[] & Cleanup) | null = null;
  try {
    defs = await def.cases(ctx);
    cases = [];
    for (const c of defs) cases.push(await runCase(def.name, c, ctx));
  } catch (err) {
    // The suite could not even set its cases up: that is one failed case, never a silent pass.
    cases = [await runCase(def.name, { name: 'setup', expectation: 'the suite can read the stack and size its cases', run: () => Promise.reject(err) }, ctx)];
  }
  try {
    await defs?.cleanup?.();
  } catch (err) {
    cases.push(await runCase(def.name, { name: 'restore the stack', expectation: 'the stack is put back as configured after the suite', run: () => Promise.reject(err) }, { ...ctx, signal: new AbortController().signal }));
  }
  const after = await (await EngineDirectory.read(ctx)).counters(ctx);
  const engines = usage(before, after);
  const skew = loadSkew(engines.map((e) => e.requests));
  return {
    suite: def.name, node: ctx.expect.node, target: ctx.expect.target,
    started_at: startedAt.toISOString(), ended_at: new Date().toISOString(),
    status: cases.some((c) => c.status === 'failed') ? 'failed' : 'passed',
    duration_s: round((performance.now() - started) / 1000),
    cases, engines, load_skew: skew === null ? null : round(skew),
  };
}
