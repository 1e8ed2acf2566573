// The Kubernetes target (minikube or an existing cluster): the node is a Helm
// release of the production-stack chart, reached through the cluster's API
// (@kubernetes/client-node) and port-forwards. Loaded only on Kubernetes
// targets: the client library costs the local target's every call time.
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import { withNodeLock } from '../../deployment/index.js';
import { nodeReleaseNames } from '../../helm/values.js';
import { shellLine } from '../../helm/commands.js';
import { writeJsonAtomic } from '../../atomic-write.js';
import { LOG_START_FILE } from '../../results/node-run.js';
import { loadAllNodes } from '../../stack/load-node.js';
import type { AttachedStack, HostCommand, NodeEnv, NodeTarget, Outcome } from '../target.js';
import { clusterAccess, loadKubeConfig } from './access.js';
import { clients } from './cluster.js';
import { checkCluster } from './cluster-check.js';
import { checkHost, hostFacts, minikubeDriver } from './host-check.js';
import { attachKubeStack, checkRenderedNodes, kubeDeploy, kubeTeardown, renderKubeNode, withReleaseLease, type KubeNodeContext } from './kube-node.js';
import { formatKubeStatus, kubeNodeStatus } from './kube-status.js';
import { engineDeployments, selector } from './kube-stack.js';
import { minikubeAddonArgs, minikubeStartArgs } from './minikube.js';
import { collectPodLogs } from './pod-logs.js';

/** The installed kubectl, helm and minikube versions (null when missing), read from their JSON or template output. */
async function toolVersions(): Promise<Record<string, string | null>> {
  const run = async (cmd: string, args: string[], pick: (out: string) => string | undefined) => {
    const out = await $({ quiet: true, nothrow: true })`${cmd} ${args}`.catch(() => null);
    if (!out || out.exitCode !== 0) return null;
    try {
      return pick(out.stdout.trim()) ?? null;
    } catch {
      return null;
    }
  };
  return {
    arch: process.arch === 'arm64' ? 'arm64' : 'amd64',
    kubectl: await run('kubectl', ['version', '--client', '--output', 'json'], (o) => (JSON.parse(o) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion),
    helm: await run('helm', ['version', '--template', '{{.Version}}'], (o) => o),
    minikube: await run('minikube', ['version', '--output', 'json'], (o) => (JSON.parse(o) as { minikubeVersion?: string }).minikubeVersion),
  };
}

/** Whether minikube runs (host and API server), and its enabled addons; not running when it cannot say. */
async function minikubeState(): Promise<{ running: boolean; addons: Set<string> }> {
  const status = await $({ quiet: true, nothrow: true })`minikube status --output json`;
  let running = false;
  try {
    const s = JSON.parse(status.stdout) as { Host?: string; APIServer?: string };
    running = s.Host === 'Running' && s.APIServer === 'Running';
  } catch {
    // No profile yet: minikube prints text, not JSON.
  }
  const addons = new Set<string>();
  if (running) {
    const list = await $({ quiet: true, nothrow: true })`minikube addons list --output json`;
    try {
      for (const [name, a] of Object.entries(JSON.parse(list.stdout) as Record<string, { Status?: string }>)) if (a.Status === 'enabled') addons.add(name);
    } catch {
      // Unreadable: every wanted addon counts as newly enabled.
    }
  }
  return { running, addons };
}

/** When the run began on this node, kept in the run's log-start note (pod logs are read since then). */
interface KubeLogStart {
  since_ms: number;
}

export class KubeTarget implements NodeTarget {
  readonly kind: string;
  readonly hostCommands: Readonly<Record<string, HostCommand>>;
  private readonly ctx: KubeNodeContext;

  constructor(private readonly env: NodeEnv, readonly configured: KubeNodeContext) {
    this.ctx = configured;
    this.kind = configured.vars.vllm_target;
    const { vars, node } = configured;
    this.hostCommands = {
      'check-host': {
        locked: false,
        run: async () => {
          const { lines, problems } = checkHost(vars, await hostFacts());
          if (problems.length > 0) throw new Error(`node ${node.name} cannot run minikube yet:\n${problems.map((p) => `  ❌ ${p}`).join('\n')}\n${lines.map((l) => `  ${l}`).join('\n')}`);
          for (const l of lines) env.progress(l);
          return { changed: false };
        },
      },
      // The versions are read from the report line (vllm_k8s_tools).
      'tool-versions': { locked: false, run: async () => ({ changed: false, ...(await toolVersions()) }) },
      'minikube-start': {
        // The node's lock only: there is no cluster yet to hold a Lease in.
        locked: true,
        run: async () => {
          const driver = minikubeDriver(await hostFacts());
          if (!driver) throw new Error('neither docker nor podman is installed: run make bringup, which says how to install one');
          // Starting a running minikube keeps it, and enabling an enabled addon keeps it: only what was not so changes.
          const before = await minikubeState();
          for (const args of [minikubeStartArgs(vars, driver), ...minikubeAddonArgs(vars)]) {
            env.progress(`minikube ${shellLine(args)}`);
            const out = await $({ nothrow: true })`minikube ${args}`;
            if (out.exitCode !== 0) throw new Error(`minikube ${args[0]} failed (exit ${out.exitCode}); minikube logs shows why`);
          }
          return { changed: !before.running || minikubeAddonArgs(vars).some(([, , addon]) => !before.addons.has(addon ?? '')) };
        },
      },
    };
  }

  private get names() {
    return nodeReleaseNames(this.ctx.vars, this.ctx.node);
  }

  /** The node's lock, and the release's Lease for colleagues sharing the cluster (minikube-start has no cluster yet). */
  withLock<T>(command: string, fn: () => Promise<T>): Promise<T> {
    return withNodeLock(this.env.ref, this.env.label, () => (command === 'minikube-start' ? fn() : withReleaseLease(this.ctx, command, this.env.label, fn, this.env.warn)));
  }

  async check(): Promise<string[]> {
    const { vars, node } = this.ctx;
    const kc = await loadKubeConfig(clusterAccess(vars));
    const lines = await checkCluster({ kc, names: [this.names, ...(vars.vllm_baseline_and_dev && node.role === 'baseline' ? [nodeReleaseNames(vars, { role: 'dev' })] : [])], vars });
    // The releases as helm renders them, before anything is installed: with A/B, the baseline
    // node checks both, which share the cluster (the dev node's check, run before either is
    // deployed, could not see the baseline's pods).
    const nodes = vars.vllm_baseline_and_dev && node.role === 'baseline'
      ? (await loadAllNodes(this.env.extraVars)).nodes.map((n) => ({ ...n, topdir: this.ctx.topdir }))
      : [this.ctx];
    const rendered = [];
    for (const n of nodes) rendered.push({ node: n.node, release: await renderKubeNode(n) });
    return [...lines, ...(await checkRenderedNodes(this.ctx, rendered))];
  }

  deploy(runDir: string | null): Promise<Record<string, unknown>> {
    return kubeDeploy(this.ctx, this.env.progress, runDir);
  }

  async attach(): Promise<AttachedStack | null> {
    const { names, ctx } = this;
    // Nothing deployed is said as on the local target, not as a port-forward that finds no pod.
    const { apps } = await clients(await loadKubeConfig(clusterAccess(ctx.vars)));
    if ((await engineDeployments(apps, names)).length === 0) return null;
    const stack = await attachKubeStack(ctx, this.env.progress);
    return {
      handle: stack,
      model: ctx.spec.engine.servedModelName,
      apiKey: ctx.apiKey,
      sessionKey: ctx.spec.router?.sessionKey ?? 'x-user-id',
      workDir: ctx.node.workDir,
      logsHint: `make vllm-status shows the pods, kubectl -n ${names.namespace} logs -l ${selector(names.engineLabels)} their logs`,
      // The cluster's Prometheus is not reachable from the node without a forward: the /metrics pages are read instead.
      metricsSources: async () => {
        const engines = await stack.engines();
        return {
          node: ctx.node.name, prometheusUrl: null, scrapeIntervalSeconds: 0, sinceMs: Date.now(),
          pages: [...engines.filter((e) => e.running).map((e) => ({ target: e.id, url: e.metricsUrl })), ...(ctx.vars.vllm_router_enabled ? [{ target: 'router', url: `${stack.routerUrl}/metrics` }] : [])],
        };
      },
      close: () => stack.close(),
    };
  }

  async teardown(): Promise<Outcome> {
    return { lines: [], changed: await kubeTeardown(this.ctx, this.env.progress) };
  }

  async cleanup(): Promise<Outcome> {
    const { changed } = await this.teardown();
    const had = existsSync(this.ctx.node.workDir);
    await rm(this.ctx.node.workDir, { recursive: true, force: true });
    return { lines: [`${this.ctx.node.name}: removed ${had ? this.ctx.node.workDir : 'nothing (no work dir)'}`], changed: changed || had };
  }

  async status(json: boolean): Promise<string> {
    const status = await kubeNodeStatus(this.ctx);
    return json ? JSON.stringify(status, null, 2) : formatKubeStatus(status);
  }

  async markRunStart(runDir: string): Promise<void> {
    const file = join(runDir, LOG_START_FILE);
    if (await readFile(file).then(() => true, () => false)) return;
    await writeJsonAtomic(file, { since_ms: Date.now() } satisfies KubeLogStart);
  }

  async collectLogs(runDir: string): Promise<string[]> {
    const start = await readFile(join(runDir, LOG_START_FILE), 'utf8').then((t) => (JSON.parse(t) as Partial<KubeLogStart>).since_ms, () => undefined);
    const kc = await loadKubeConfig(clusterAccess(this.ctx.vars));
    // A run whose start was never noted (pack alone): the pods' whole logs.
    return collectPodLogs(kc, this.names, runDir, start ?? 0);
  }
}
