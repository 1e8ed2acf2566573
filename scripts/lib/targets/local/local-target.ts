// The local target: the node is this machine, its stack processes the harness
// starts, found again through the node's deployment record (so the steps after
// deploy work even when .config changed or is gone).
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readRecord, withNodeLock } from '../../deployment/index.js';
import { copyRunLogs, markRunStart } from '../../results/node-run.js';
import type { LoadedNode } from '../../stack/load-node.js';
import { formatFull } from '../../status/format-status.js';
import { localNodeStatus } from './local-status.js';
import type { AttachedStack, NodeEnv, NodeTarget, Outcome } from '../target.js';
import { LocalStack } from './local-stack.js';
import { snapshotSources } from './metrics-sources.js';
import { checkNode } from './node-check.js';

export class LocalTarget implements NodeTarget {
  readonly kind = 'local';
  readonly hostCommands = {};

  constructor(private readonly env: NodeEnv, readonly configured: LoadedNode | null) {}

  private need(what: string): LoadedNode {
    if (!this.configured) throw new Error(`${what} needs the node's configuration: run make defconfig-vllm-local (or another defconfig) first`);
    return this.configured;
  }

  withLock<T>(_command: string, fn: () => Promise<T>): Promise<T> {
    return withNodeLock(this.env.ref, this.env.label, fn);
  }

  check(): Promise<string[]> {
    return checkNode(this.need('check').spec);
  }

  async deploy(): Promise<Record<string, unknown>> {
    const { vars, node, spec } = this.need('deploy');
    const started = performance.now();
    const { runId } = this.env;
    const stack = await LocalStack.deploy(spec, this.env.progress, {
      host: node.host, runId, command: `vllm-node deploy${runId ? ` (run ${runId})` : ''}`,
      secretFiles: { apiKey: vars.vllm_api_key_file, hfToken: vars.vllm_hf_token_file ?? '' },
    });
    const engines = await stack.engines();
    return { router_url: stack.routerUrl, engines, deploy_seconds: (performance.now() - started) / 1000 };
  }

  async attach(): Promise<AttachedStack | null> {
    const stack = await LocalStack.attach(this.env.ref, this.env.progress);
    if (!stack) return null;
    const { spec } = stack;
    return {
      handle: stack,
      model: spec.engine.servedModelName,
      apiKey: spec.engine.env.VLLM_API_KEY,
      sessionKey: spec.router?.sessionKey ?? 'x-user-id',
      workDir: spec.workDir,
      logsHint: `logs are in ${join(spec.workDir, 'logs')}`,
      metricsSources: () => snapshotSources(stack),
      close: async () => undefined,
    };
  }

  async teardown(): Promise<Outcome> {
    // A record whose processes all died is removed too: that changes the node as well.
    const recorded = (await readRecord(this.env.ref)) !== null;
    const stopped = await LocalStack.teardownNode(this.env.ref);
    // Pid files in the configured work dir that no record covers (an older harness, a lost record).
    if (this.configured) stopped.push(...(await LocalStack.stopAll(this.configured.spec)).filter((s) => !stopped.includes(s)));
    return { lines: [`${this.env.ref.node}: ${stopped.length > 0 ? `stopped ${stopped.join(', ')}` : 'nothing was running'}`], changed: recorded || stopped.length > 0 };
  }

  async cleanup(): Promise<Outcome> {
    const record = await readRecord(this.env.ref);
    const out = await this.teardown();
    const dirs = [...new Set([record?.spec.workDir, this.configured?.spec.workDir].filter((d): d is string => d !== undefined))].filter((d) => existsSync(d));
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    out.lines.push(`${this.env.ref.node}: removed ${dirs.length > 0 ? dirs.join(', ') : 'nothing (no work dir)'}`);
    return { lines: out.lines, changed: out.changed || dirs.length > 0 };
  }

  async status(json: boolean): Promise<string> {
    const target = this.configured?.vars.vllm_target ?? 'local';
    const status = await localNodeStatus(this.env.ref, this.configured?.spec ?? null, target);
    return json ? JSON.stringify(status, null, 2) : formatFull({ generated_at: new Date().toISOString(), target, ab: this.configured?.vars.vllm_baseline_and_dev ?? false, nodes: [status], last_run: null, hints: [] });
  }

  /** The deployed stack's logs (its work dir may differ from the configured one after .config changed). */
  private async logsDir(): Promise<string> {
    const record = await readRecord(this.env.ref);
    return join(record?.spec.workDir ?? this.need('a run').spec.workDir, 'logs');
  }

  async markRunStart(runDir: string): Promise<void> {
    await markRunStart(runDir, await this.logsDir());
  }

  async collectLogs(runDir: string): Promise<string[]> {
    return copyRunLogs(runDir, await this.logsDir());
  }
}
