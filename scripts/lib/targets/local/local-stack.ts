// LocalStack: the stack as processes on this machine. Engines, router and
// Prometheus are detached processes with pid files and logs in the node's work
// dir, so they outlive the command that started them. What a node runs is
// written in its deployment record (scripts/lib/deployment), and later
// commands (status, scale, teardown, the next deploy) work from that record,
// never from the configuration as it is now.
import { access, readdir, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { listRecords, readRecord, removeRecord, restoreSecrets, writeRecord, type DeploymentRecord, type NodeRef } from '../../deployment/index.js';
import { exec, onPath } from '../../exec.js';
import { writeJsonAtomic } from '../../atomic-write.js';
import { engineId, engineRole, engineUrl, routerUrl, type NodePlan } from '../../vocabulary/node-plan.js';
import { engineCommand, nodeLayout, prometheusCommand, routerCommand, routerDynamicConfig, type ProcessCommand } from './process-commands.js';
import { isRunning, processStartTime, readPidFile, removePidFile, startDetached, stopProcess, type PidRecord } from '../../stack/process-control.js';
import type { EngineInfo, StackHandle } from '../../stack/stack-handle.js';
import { portsInUse } from './port-check.js';
import { readSecrets } from '../../stack/secrets.js';
import { httpJson, httpOk, httpText, waitUntil } from './wait-ready.js';
import { ENGINE_COUNTERS } from '../../vocabulary/engine-counters.js';
import { sumMetric } from '../../vocabulary/prometheus-text.js';

export type Progress = (line: string) => void;

/** What a deploy records besides the spec: where the node is, which run made it, where its secrets come from. */
export interface DeployInfo {
  host: string | null;
  runId: string | null;
  secretFiles: { apiKey: string; hfToken: string };
  /** The command deploying, for the record ("make vllm", "vllm-node deploy"). */
  command: string;
}

// Loaded when Prometheus is (re)configured only: it brings the YAML library, which status never needs.
const prometheusFiles = () => import('../../observability/prometheus-files.js');

const ROUTER_ID = 'router';
const PROMETHEUS_ID = 'prometheus';

export function parseEngineId(id: string): number {
  const match = /^engine-(\d+)$/.exec(id);
  if (!match) throw new Error(`"${id}" is not an engine id; engine ids look like engine-0, engine-1, ...`);
  return Number(match[1]);
}

/** Every port a node's stack may listen on, with what listens there. */
export function specPorts(spec: NodePlan): { port: number; what: string }[] {
  return [
    ...(spec.router ? [{ port: spec.routerPort, what: 'router' }] : []),
    ...Array.from({ length: spec.maxReplicas }, (_, i) => ({ port: spec.enginePortBase + i, what: engineId(i) })),
    ...(spec.prometheus ? [{ port: spec.prometheus.port, what: 'prometheus' }] : []),
  ];
}

/** A record whose deployer is still at work (state deploying, process alive). */
export function deployInProgress(record: DeploymentRecord): boolean {
  return record.state === 'deploying' && record.deployer.start !== null && processStartTime(record.deployer.pid) === record.deployer.start;
}

async function tail(file: string, lines = 15): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export class LocalStack implements StackHandle {
  private readonly layout;

  private constructor(
    readonly spec: NodePlan,
    private readonly deployment: DeploymentRecord,
    private readonly progress: Progress,
  ) {
    this.layout = nodeLayout(spec.workDir);
  }

  get routerUrl(): string {
    return this.spec.router ? routerUrl(this.spec) : engineUrl(this.spec, this.state.engines[0] ?? 0);
  }

  get deployedAt(): string | null {
    return this.deployment.deployedAt;
  }

  /** The node's deployment record as it stands (spec with secrets). */
  get record(): DeploymentRecord {
    return this.deployment;
  }

  private get state() {
    return this.deployment.stack;
  }

  /**
   * Stops whatever this node ran before (found through its record, whatever the
   * configuration said then), then starts this spec and waits until it serves.
   * The caller holds the node's lock (withNodeLock).
   */
  static async deploy(spec: NodePlan, progress: Progress = () => {}, deployInfo: Partial<DeployInfo> = {}): Promise<LocalStack> {
    const info: DeployInfo = { host: null, runId: null, secretFiles: { apiKey: '', hfToken: '' }, command: `deploy (pid ${process.pid})`, ...deployInfo };
    await LocalStack.teardownNode(spec);
    // Pid files in the configured work dir that no record covers (an older harness, a lost record).
    await LocalStack.stopAll(spec);
    await LocalStack.preflight(spec);
    const indexes = Array.from({ length: spec.replicas }, (_, i) => i);
    const self = processStartTime(process.pid);
    const stack = new LocalStack(spec, {
      node: spec.node, role: spec.role, host: info.host, target: 'local', state: 'deploying',
      deployer: { pid: process.pid, start: self, command: info.command },
      startedAt: new Date().toISOString(), deployedAt: null, runId: info.runId, secretFiles: info.secretFiles,
      spec, stack: { engines: indexes, router: spec.router !== null, prometheus: false },
    }, progress);
    // Recorded before anything starts, so that whatever starts is found again even if this process dies.
    await stack.saveState();
    try {
      progress(`${spec.node}: starting ${spec.replicas} ${spec.engine.kind === 'sim' ? 'simulated engine(s)' : 'vLLM engine(s)'} on ports ${engineUrl(spec, 0).split(':')[2]}..`);
      await Promise.all(indexes.map((i) => stack.launch(engineId(i), engineCommand(spec, i))));
      await Promise.all(indexes.map((i) => stack.waitEngineReady(i)));
      if (spec.router) {
        await writeJsonAtomic(stack.layout.routerConfig, routerDynamicConfig(spec, indexes));
        progress(`${spec.node}: starting the ${spec.router.impl} router (${spec.router.routingLogic}) on ${routerUrl(spec)}`);
        await stack.launch(ROUTER_ID, routerCommand(spec, indexes));
        await stack.waitRouterReady(indexes);
      }
      stack.state.prometheus = await stack.startPrometheus(indexes);
      stack.deployment.state = 'deployed';
      stack.deployment.deployedAt = new Date().toISOString();
      await stack.saveState();
      progress(`${spec.node}: ready at ${stack.routerUrl}`);
      return stack;
    } catch (err) {
      await LocalStack.stopAll(spec);
      await removeRecord(spec);
      throw err;
    }
  }

  /**
   * The stack deployed on this node, or null when nothing is. Its spec is the
   * recorded one; secrets are read again (given, or from the recorded files and
   * the environment; one that cannot be read any more is left out).
   */
  static async attach(ref: NodeRef, progress: Progress = () => {}, secrets?: { apiKey?: string; hfToken?: string }): Promise<LocalStack | null> {
    const record = await readRecord(ref);
    if (!record) return null;
    const found = secrets ?? await readSecrets({ vllm_api_key_file: record.secretFiles.apiKey, vllm_hf_token_file: record.secretFiles.hfToken }).catch(() => ({}));
    return new LocalStack(restoreSecrets(record.spec, found), { ...record, spec: restoreSecrets(record.spec, found) }, progress);
  }

  /** Stops what the node's record says it runs and removes the record; the names of what was stopped. */
  static async teardownNode(ref: NodeRef): Promise<string[]> {
    const record = await readRecord(ref);
    if (!record) return [];
    const stopped = await LocalStack.stopAll(record.spec);
    await removeRecord(ref);
    return stopped;
  }

  /** Stops every process recorded in the pid files of this spec's work dir, router first so clients stop arriving. */
  static async stopAll(spec: NodePlan): Promise<string[]> {
    const layout = nodeLayout(spec.workDir);
    let files: string[];
    try {
      files = (await readdir(layout.pids)).filter((f) => f.endsWith('.pid'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') files = [];
      else throw err;
    }
    const order = (f: string) => (f.startsWith(ROUTER_ID) ? 0 : f.startsWith('engine-') ? 1 : 2);
    const stopped: string[] = [];
    for (const stage of [0, 1, 2].map((n) => files.filter((f) => order(f) === n))) {
      await Promise.all(stage.map(async (file) => {
        const path = join(layout.pids, file);
        const record = await readPidFile(path);
        if (record) {
          const running = isRunning(record);
          // Also when it has exited: its cleanup removes what it may have left (an engine container).
          await stopProcess(record, 'graceful');
          if (running) stopped.push(file.replace(/\.pid$/, ''));
        }
        await removePidFile(path);
      }));
    }
    return stopped;
  }

  /** Fails before anything starts when a port the node needs is taken or a program is missing. */
  static async preflight(spec: NodePlan): Promise<void> {
    const problems = [...(await LocalStack.missingPrograms(spec)), ...(await LocalStack.busyPorts(spec))];
    if (problems.length > 0) throw new Error(problems.join('\n'));
  }

  /** Programs the node's configuration needs and this machine lacks, each with what to do. */
  static async missingPrograms(spec: NodePlan): Promise<string[]> {
    const missing: string[] = [];
    const install = spec.engine.vllm?.install ?? { kind: 'path' };
    if (spec.engine.kind === 'vllm' && install.kind === 'path' && !(await onPath('vllm'))) {
      missing.push(`node ${spec.node}: CONFIG_VLLM_ENGINE_VLLM is set but no \`vllm\` executable is on PATH; install vLLM (pip install vllm) or choose the simulator (CONFIG_VLLM_ENGINE_SIM)`);
    }
    if (spec.engine.kind === 'vllm' && install.kind === 'venv') {
      const vllm = join(install.venvDir, 'bin', 'vllm');
      if (!(await access(vllm, constants.X_OK).then(() => true, () => false))) {
        missing.push(`node ${spec.node}: ${vllm} does not exist; make bringup creates the venv and installs vllm==${install.version} (CONFIG_VLLM_VENV_DIR)`);
      }
    }
    if (spec.engine.kind === 'vllm' && install.kind === 'container' && !(await onPath(install.runtime))) {
      missing.push(`node ${spec.node}: engines run under ${install.runtime} (CONFIG_VLLM_CONTAINER_RUNTIME), which is not on PATH; install it or choose the other runtime`);
    }
    if (spec.router?.impl === 'production-stack') {
      const probe = await exec('python3', ['-c', 'import vllm_router.app']).catch(() => null);
      if (probe?.exitCode !== 0) {
        missing.push(`node ${spec.node}: the production-stack router is selected (CONFIG_VLLM_ROUTER_IMPL_PRODUCTION_STACK) but its Python package is not installed; run \`pip install vllm-router\` or choose CONFIG_VLLM_ROUTER_IMPL_BUILTIN`);
      }
    }
    return missing;
  }

  /**
   * The node's ports that something holds, as one message (or none). Ports of
   * deployments this project has a record of are named as such; `except`
   * (nodes whose deployment will be replaced anyway) are not counted.
   */
  static async busyPorts(spec: NodePlan, except: (r: DeploymentRecord) => boolean = () => false): Promise<string[]> {
    const wanted = specPorts(spec);
    const busy = new Set(await portsInUse(wanted.map((w) => w.port)));
    if (busy.size === 0) return [];
    const owners = new Map<number, DeploymentRecord>();
    for (const r of await listRecords(spec.stateDir)) for (const p of specPorts(r.spec)) owners.set(p.port, r);
    const held = wanted.filter((w) => busy.has(w.port) && !(owners.has(w.port) && except(owners.get(w.port) as DeploymentRecord)));
    if (held.length === 0) return [];
    const describe = (w: { port: number; what: string }) => {
      const owner = owners.get(w.port);
      return `${w.port} (${w.what}${owner ? `, held by this project's ${owner.node} deployment` : ''})`;
    };
    const ours = held.some((w) => owners.has(w.port));
    return [`node ${spec.node}: port(s) ${held.map(describe).join(', ')} already in use; ${ours ? 'make vllm-teardown stops the deployments this project recorded, ' : ''}stop the program holding them or change CONFIG_VLLM_API_PORT / CONFIG_VLLM_PROMETHEUS_PORT`];
  }

  async engines(): Promise<EngineInfo[]> {
    const auth = this.authHeaders();
    return Promise.all(this.state.engines.map(async (i) => {
      const id = engineId(i);
      const url = engineUrl(this.spec, i);
      const record = await readPidFile(this.pidFile(id));
      const running = record !== null && isRunning(record);
      const models = running ? await httpJson<{ data: { id: string }[] }>(`${url}/v1/models`, auth) : null;
      return {
        id, url, metricsUrl: `${url}/metrics`, running,
        ready: running && models !== null,
        models: models?.data.map((m) => m.id) ?? [],
        role: engineRole(this.spec, i),
      };
    }));
  }

  /** Pid records of the router and Prometheus, when this node runs them. */
  async services(): Promise<{ id: string; record: PidRecord | null; running: boolean }[]> {
    const ids = [...(this.state.router ? [ROUTER_ID] : []), ...(this.state.prometheus ? [PROMETHEUS_ID] : [])];
    return Promise.all(ids.map(async (id) => {
      const record = await readPidFile(this.pidFile(id));
      return { id, record, running: record !== null && isRunning(record) };
    }));
  }

  async scale(replicas: number): Promise<void> {
    if (!Number.isInteger(replicas) || replicas < 0 || replicas > this.spec.maxReplicas) {
      throw new Error(`cannot scale node ${this.spec.node} to ${replicas}: allowed 0..${this.spec.maxReplicas} (CONFIG_VLLM_AUTOSCALING_MAX_REPLICAS)`);
    }
    const current = [...this.state.engines].sort((a, b) => a - b);
    if (replicas > current.length) {
      const added: number[] = [];
      for (let i = 0; added.length < replicas - current.length; i++) if (!current.includes(i)) added.push(i);
      this.progress(`${this.spec.node}: scaling up to ${replicas}: starting ${added.map(engineId).join(', ')}`);
      await Promise.all(added.map((i) => this.launch(engineId(i), engineCommand(this.spec, i))));
      await Promise.all(added.map((i) => this.waitEngineReady(i)));
      await this.applyEngineSet([...current, ...added]);
    } else if (replicas < current.length) {
      const removed = current.slice(replicas);
      this.progress(`${this.spec.node}: scaling down to ${replicas}: stopping ${removed.map(engineId).join(', ')}`);
      await this.applyEngineSet(current.slice(0, replicas));
      await Promise.all(removed.map((i) => this.drainAndStop(i)));
    }
  }

  async stopEngine(id: string, how: 'graceful' | 'kill'): Promise<void> {
    const index = parseEngineId(id);
    if (!this.state.engines.includes(index)) throw new Error(`node ${this.spec.node} has no engine ${id}`);
    if (how === 'kill') return this.stopRecorded(id, 'kill');
    await this.applyEngineSet(this.state.engines.filter((i) => i !== index));
    await this.drainAndStop(index);
  }

  async restartRouter(): Promise<void> {
    if (!this.spec.router) throw new Error(`node ${this.spec.node} runs no router`);
    this.progress(`${this.spec.node}: restarting the router`);
    await this.stopRecorded(ROUTER_ID, 'graceful');
    await writeJsonAtomic(this.layout.routerConfig, routerDynamicConfig(this.spec, this.state.engines));
    await this.launch(ROUTER_ID, routerCommand(this.spec, this.state.engines));
    await this.waitRouterReady(this.state.engines);
  }

  async routerMemoryBytes(): Promise<number | null> {
    const record = await readPidFile(this.pidFile(ROUTER_ID));
    if (!record || !isRunning(record)) return null;
    try {
      const kb = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${record.pid}/status`, 'utf8'))?.[1];
      return kb === undefined ? null : Number(kb) * 1024;
    } catch {
      return null;
    }
  }

  async startEngine(id?: string): Promise<void> {
    let index: number;
    if (id === undefined) {
      index = 0;
      while (this.state.engines.includes(index)) index++;
    } else {
      index = parseEngineId(id);
    }
    const name = engineId(index);
    const record = await readPidFile(this.pidFile(name));
    if (record && isRunning(record)) throw new Error(`${name} on node ${this.spec.node} is already running (pid ${record.pid})`);
    await this.launch(name, engineCommand(this.spec, index));
    await this.waitEngineReady(index);
    await this.applyEngineSet([...new Set([...this.state.engines, index])]);
  }

  async teardown(): Promise<void> {
    const stopped = await LocalStack.teardownNode(this.spec);
    this.progress(`${this.spec.node}: stopped ${stopped.length > 0 ? stopped.join(', ') : 'nothing (no process was running)'}`);
  }

  private pidFile(id: string): string {
    return join(this.layout.pids, `${id}.pid`);
  }

  private logFile(id: string): string {
    return join(this.layout.logs, `${id}.log`);
  }

  private authHeaders(): Record<string, string> {
    const key = this.spec.engine.env.VLLM_API_KEY;
    return key ? { authorization: `Bearer ${key}` } : {};
  }

  // In the node's work dir: whatever a program writes relative to it stays with the node, not
  // in the directory of the shell that ran the step (a home directory over SSH).
  private async launch(id: string, cmd: ProcessCommand): Promise<void> {
    await startDetached({
      command: cmd.command, args: cmd.args, env: { ...process.env, ...cmd.env }, cwd: this.spec.workDir,
      logFile: this.logFile(id), pidFile: this.pidFile(id),
    }, cmd.marker, cmd.cleanup);
  }

  private async stopRecorded(id: string, how: 'graceful' | 'kill'): Promise<void> {
    const record = await readPidFile(this.pidFile(id));
    if (record) await stopProcess(record, how);
    // A killed engine keeps its pid file: status shows it as crashed, not as never started.
    if (how === 'graceful') await removePidFile(this.pidFile(id));
  }

  /**
   * An engine already out of the router's rotation: waits until it reports
   * no running or waiting request twice in a row (a request still on its way
   * from the router shows up in between), then stops it with SIGTERM; after
   * drainTimeoutMs it is killed instead.
   */
  private async drainAndStop(index: number): Promise<void> {
    const id = engineId(index);
    const metrics = `${engineUrl(this.spec, index)}/metrics`;
    let idle = 0;
    try {
      await waitUntil(async () => {
        const text = await httpText(metrics);
        const busy = text === null ? 0 : (sumMetric(text, ...ENGINE_COUNTERS.running) ?? 0) + (sumMetric(text, ...ENGINE_COUNTERS.waiting) ?? 0);
        idle = busy === 0 ? idle + 1 : 0;
        return idle >= 2;
      }, { what: `node ${this.spec.node}: draining ${id}`, timeoutMs: this.spec.engine.drainTimeoutMs, intervalMs: 100 });
    } catch (err) {
      // The bound is the bound: what did not finish within it is cut, not waited for again.
      this.progress(`${(err as Error).message}; killing it with requests still running`);
      return this.stopRecorded(id, 'kill').then(() => removePidFile(this.pidFile(id)));
    }
    await this.stopRecorded(id, 'graceful');
  }

  private async processFailure(id: string): Promise<string | null> {
    const record = await readPidFile(this.pidFile(id));
    if (record && isRunning(record)) return null;
    return `the process exited; last lines of ${this.logFile(id)}:\n${await tail(this.logFile(id))}`;
  }

  private async waitEngineReady(index: number): Promise<void> {
    const id = engineId(index);
    const url = engineUrl(this.spec, index);
    const model = this.spec.engine.servedModelName;
    await waitUntil(async () => {
      const models = await httpJson<{ data: { id: string }[] }>(`${url}/v1/models`, this.authHeaders());
      return models?.data.some((m) => m.id === model) ?? false;
    }, {
      what: `node ${this.spec.node}: ${id} (${url})`,
      timeoutMs: this.spec.engine.readyTimeoutMs,
      onWait: (ms) => this.progress(`${this.spec.node}: waiting for ${id} to load ${model} (${Math.round(ms / 1000)} s)`),
      failure: () => this.processFailure(id),
    });
  }

  private async waitRouterReady(indexes: number[]): Promise<void> {
    const url = routerUrl(this.spec);
    await waitUntil(async () => {
      if (!(await httpOk(`${url}/health`))) return false;
      if (indexes.length === 0) return true;
      const engines = await httpJson<{ engines: { url: string; healthy: boolean }[] }>(`${url}/engines`);
      const wanted = indexes.map((i) => engineUrl(this.spec, i));
      return engines !== null && wanted.every((u) => engines.engines.some((e) => e.url === u));
    }, {
      what: `node ${this.spec.node}: router (${url})`,
      timeoutMs: 30_000,
      onWait: (ms) => this.progress(`${this.spec.node}: waiting for the router (${Math.round(ms / 1000)} s)`),
      failure: () => this.processFailure(ROUTER_ID),
    });
  }

  /** Points the router (and Prometheus) at exactly these engines, and waits until the router uses them. */
  private async applyEngineSet(indexes: number[]): Promise<void> {
    const sorted = [...new Set(indexes)].sort((a, b) => a - b);
    this.state.engines = sorted;
    if (this.spec.router) {
      await writeJsonAtomic(this.layout.routerConfig, routerDynamicConfig(this.spec, sorted));
      const url = routerUrl(this.spec);
      const wanted = sorted.map((i) => engineUrl(this.spec, i)).sort();
      await waitUntil(async () => {
        const engines = await httpJson<{ engines: { url: string }[] }>(`${url}/engines`);
        const have = engines?.engines.map((e) => e.url).sort() ?? null;
        return have !== null && have.length === wanted.length && have.every((u, k) => u === wanted[k]);
      }, { what: `node ${this.spec.node}: router applying the new engine set`, timeoutMs: 10_000, failure: () => this.processFailure(ROUTER_ID) });
    }
    if (this.state.prometheus) {
      await (await prometheusFiles()).writePrometheusConfig(this.spec, sorted, this.layout);
      const record = await readPidFile(this.pidFile(PROMETHEUS_ID));
      if (record && isRunning(record)) process.kill(record.pid, 'SIGHUP');
    }
    await this.saveState();
  }

  private async startPrometheus(indexes: number[]): Promise<boolean> {
    if (!this.spec.prometheus) return false;
    if (!(await onPath('prometheus'))) {
      this.progress(`${this.spec.node}: observability is on but no prometheus binary is installed (make deps installs it); continuing without it`);
      return false;
    }
    await (await prometheusFiles()).writePrometheusConfig(this.spec, indexes, this.layout);
    const url = `http://127.0.0.1:${this.spec.prometheus.port}`;
    this.progress(`${this.spec.node}: starting Prometheus on ${url}`);
    await this.launch(PROMETHEUS_ID, prometheusCommand(this.spec));
    await waitUntil(() => httpOk(`${url}/-/ready`), {
      what: `node ${this.spec.node}: prometheus (${url})`, timeoutMs: 30_000,
      failure: () => this.processFailure(PROMETHEUS_ID),
    });
    // Ready is not yet observing: until its first scrape of a target (up to one
    // interval, by Prometheus' own offset), that target shows as unknown and a
    // load run right away leaves the dashboards without a "before". Deployed
    // means scraped once.
    const targets = indexes.length + (this.spec.router ? 1 : 0);
    await waitUntil(async () => {
      const body = await httpJson<{ data: { activeTargets: { health: string }[] } }>(`${url}/api/v1/targets?state=active`);
      const active = body?.data.activeTargets ?? [];
      return active.length === targets && active.every((t) => t.health !== 'unknown');
    }, {
      what: `node ${this.spec.node}: prometheus's first scrape of ${targets} targets (${url}/targets)`,
      timeoutMs: 30_000 + 2 * this.spec.prometheus.scrapeIntervalSeconds * 1000, intervalMs: 250,
      failure: () => this.processFailure(PROMETHEUS_ID),
    });
    return true;
  }

  private async saveState(): Promise<void> {
    await writeRecord(this.deployment);
  }
}
