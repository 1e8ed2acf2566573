// vllm-node's commands on a Kubernetes node (minikube or an existing
// cluster). Returns false for a command that works the same on every target
// (pack), so the caller runs its own. Loaded only on Kubernetes targets (see usage.ts).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import { stringify } from 'yaml';
import { writeFileAtomic, writeJsonAtomic } from '../../results/atomic-write.js';
import { recordStep } from '../../results/node-run.js';
import { systemInfo } from '../../results/system-info.js';
import { formatQuickTest, quickTest } from '../../smoke/quick-test.js';
import { takeSnapshot } from '../../observability/metrics-snapshot.js';
import { nodeReleaseNames } from '../../helm/values.js';
import { shellLine } from '../../helm/commands.js';
import { clusterAccess, loadKubeConfig } from './access.js';
import { checkCluster } from './cluster-check.js';
import { checkHost, hostFacts, minikubeDriver } from './host-check.js';
import { minikubeAddonArgs, minikubeStartArgs } from './minikube.js';
import { kubeNodeStatus, formatKubeStatus } from './kube-status.js';
import { attachKubeStack, kubeDeploy, kubeTeardown, type KubeNodeContext } from './kube-node.js';



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

export async function kubeNodeCommand(command: string, ctx: KubeNodeContext, runDir: string | null, json: boolean, progress: (line: string) => void): Promise<boolean> {
  const { vars, node } = ctx;
  const names = nodeReleaseNames(vars, node);
  switch (command) {
    case 'check-host': {
      const { lines, problems } = checkHost(vars, await hostFacts());
      if (problems.length > 0) throw new Error(`node ${node.name} cannot run minikube yet:\n${problems.map((p) => `  ❌ ${p}`).join('\n')}\n${lines.map((l) => `  ${l}`).join('\n')}`);
      for (const l of lines) progress(l);
      return true;
    }
    case 'tool-versions': {
      progress(JSON.stringify(await toolVersions()));
      return true;
    }
    case 'minikube-start': {
      const driver = minikubeDriver(await hostFacts());
      if (!driver) throw new Error('neither docker nor podman is installed: run make bringup, which says how to install one');
      for (const args of [minikubeStartArgs(vars, driver), ...minikubeAddonArgs(vars)]) {
        progress(`minikube ${shellLine(args)}`);
        const out = await $({ nothrow: true })`minikube ${args}`;
        if (out.exitCode !== 0) throw new Error(`minikube ${args[0]} failed (exit ${out.exitCode}); minikube logs shows why`);
      }
      return true;
    }
    case 'check': {
      const kc = await loadKubeConfig(clusterAccess(vars));
      for (const l of await checkCluster({ kc, names: [names, ...(vars.vllm_baseline_and_dev && node.role === 'baseline' ? [nodeReleaseNames(vars, { role: 'dev' })] : [])], vars })) progress(l);
      return true;
    }
    case 'deploy': {
      if (!runDir) {
        await kubeDeploy(ctx, progress, null);
        return true;
      }
      await writeFileAtomic(join(runDir, 'config.yaml'), stringify({ node, vars }));
      await writeJsonAtomic(join(runDir, 'system.json'), await systemInfo());
      const result = await recordStep(runDir, 'deploy', () => kubeDeploy(ctx, progress, runDir));
      await writeJsonAtomic(join(runDir, 'deploy.json'), result);
      return true;
    }
    case 'smoke': {
      const smoke = async () => {
        const stack = await attachKubeStack(ctx);
        try {
          const result = await quickTest(stack.routerUrl, ctx.spec.engine.servedModelName, ctx.apiKey);
          progress(formatQuickTest(node.name, result));
          if (runDir) await writeJsonAtomic(join(runDir, 'smoke.json'), result);
          if (!result.passed) throw new Error(`node ${node.name}: the smoke test failed (see above); make vllm-status shows the pods, kubectl -n ${names.namespace} logs deploy/${names.engineDeployment} their logs`);
        } finally {
          await stack.close();
        }
      };
      await (runDir ? recordStep(runDir, 'smoke', smoke) : smoke());
      return true;
    }
    case 'snapshot': {
      if (!runDir) throw new Error('snapshot needs --run-id');
      // The cluster's Prometheus is not reachable from the node without a forward: the /metrics pages are read instead.
      await recordStep(runDir, 'metrics', async () => {
        const stack = await attachKubeStack(ctx);
        try {
          const engines = await stack.engines();
          const snapshot = await takeSnapshot({
            node: node.name, prometheusUrl: null, scrapeIntervalSeconds: 0, sinceMs: Date.now(),
            pages: [...engines.filter((e) => e.running).map((e) => ({ target: e.id, url: e.metricsUrl })), ...(vars.vllm_router_enabled ? [{ target: 'router', url: `${stack.routerUrl}/metrics` }] : [])],
          });
          await writeJsonAtomic(join(runDir, 'metrics.json'), snapshot);
          progress(`${node.name}: metrics snapshot: ${snapshot.pages.filter((p) => p.error === null).length} /metrics pages`);
        } finally {
          await stack.close();
        }
      }).catch((err: Error) => console.error(`${node.name}: no metrics snapshot: ${err.message}`));
      return true;
    }
    case 'teardown':
      await kubeTeardown(ctx, progress);
      return true;
    case 'cleanup':
      await kubeTeardown(ctx, progress);
      await rm(node.workDir, { recursive: true, force: true });
      progress(`${node.name}: removed ${node.workDir}`);
      return true;
    case 'status': {
      const status = await kubeNodeStatus(ctx);
      progress(json ? JSON.stringify(status, null, 2) : formatKubeStatus(status));
      return true;
    }
    default:
      return false;
  }
}
