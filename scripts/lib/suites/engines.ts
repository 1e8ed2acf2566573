// The node's engines as the suites see them: their ids and URLs from the
// stack handle, which engine served a response, their counters, and the
// simulator's runtime settings where the engine is a simulator.
import type { EngineInfo } from '../stack/stack-handle.js';
import type { SuiteContext } from './context.js';
import { readCounters, type EngineCounters } from './engine-metrics.js';

/** The simulator names itself in this header on every response (vLLM sends none). */
export const INSTANCE_HEADER = 'x-engine-instance-id';
/** This project's router names the engine's base URL (the production-stack router sends none). */
export const ROUTER_ENGINE_HEADER = 'x-router-engine';

export class EngineDirectory {
  private constructor(
    readonly engines: EngineInfo[],
    private readonly byInstance: Map<string, string>,
  ) {}

  /** Asks every running engine for its instance id once, so responses can be attributed. */
  static async read(ctx: SuiteContext): Promise<EngineDirectory> {
    const engines = (await ctx.stack.engines()).filter((e) => e.running);
    const byInstance = new Map<string, string>();
    await Promise.all(engines.map(async (e) => {
      const res = await ctx.http.get(`${e.url}/health`, { timeoutMs: 2_000 });
      const instance = res.headers[INSTANCE_HEADER];
      if (instance) byInstance.set(instance, e.id);
    }));
    return new EngineDirectory(engines, byInstance);
  }

  get ids(): string[] {
    return this.engines.map((e) => e.id);
  }

  /**
   * The engine that served a response: the engine's own header first, the
   * router's header naming its URL second; null when neither names one of
   * this node's engines. Suites cross-check these against engine counters.
   */
  servedBy(headers: Record<string, string>): string | null {
    const instance = headers[INSTANCE_HEADER];
    if (instance !== undefined) return this.byInstance.get(instance) ?? null;
    const url = headers[ROUTER_ENGINE_HEADER];
    return url === undefined ? null : (this.engines.find((e) => e.url === url.replace(/\/+$/, ''))?.id ?? null);
  }

  /** Whether responses can be attributed to engines at all on this stack. */
  get attributable(): boolean {
    return this.byInstance.size === this.engines.length && this.engines.length > 0;
  }

  counters(ctx: SuiteContext): Promise<Map<string, EngineCounters>> {
    return readCounters(ctx.http, this.engines.map((e) => ({ id: e.id, metricsUrl: e.metricsUrl })));
  }
}

export function engineHeaders(ctx: SuiteContext): Record<string, string> {
  return ctx.expect.apiKey ? { authorization: `Bearer ${ctx.expect.apiKey}` } : {};
}

export type SimSettings = Record<string, unknown>;

/**
 * The simulator's runtime settings (GET /admin/config), or null when the
 * engine has no such endpoint: real vLLM. Cases that inject failures or
 * latency need it and are skipped with the reason otherwise.
 */
export async function simSettings(ctx: SuiteContext, engine: EngineInfo): Promise<SimSettings | null> {
  const res = await ctx.http.get(`${engine.url}/admin/config`, { headers: engineHeaders(ctx), timeoutMs: 2_000 });
  return res.status === 200 && res.json !== null && typeof res.json === 'object' ? (res.json as SimSettings) : null;
}

export const NO_INJECTION = 'needs the simulator\'s failure injection (POST /admin/config); the engine is real vLLM';

export async function setSim(ctx: SuiteContext, engine: EngineInfo, change: SimSettings): Promise<void> {
  const res = await ctx.http.post(`${engine.url}/admin/config`, change, { headers: engineHeaders(ctx), timeoutMs: 2_000 });
  if (res.status !== 200) throw new Error(`${engine.id}: POST /admin/config ${JSON.stringify(change)} answered ${res.status ?? res.error}: ${res.text.slice(0, 200)}`);
}

/** Only the fields a change touched, with their values before it: what restores them. */
export function restoreOf(before: SimSettings, change: SimSettings): SimSettings {
  return Object.fromEntries(Object.keys(change).map((k) => [k, before[k]]));
}
