// npm run cluster-double -- --kubeconfig FILE: the cluster double on its own,
// for a person to point the harness at by hand (VLLM_KUBECONFIG=FILE make …).
// It serves until stopped; Ctrl-C (SIGINT) or SIGTERM stops every pod process.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fail, parseCli, runMain } from '../../scripts/lib/cli.js';
import { ClusterDouble, MINIKUBE_NODE, prometheusOperatorCrds } from './cluster-double.js';

const USAGE = `usage: npm run cluster-double -- --kubeconfig FILE [options]

Starts the cluster double: a Kubernetes API server on loopback that the real
helm installs the production-stack chart into, whose pods run this project's
image (router, engine simulator) as processes of this checkout's dist/, each
on its own 127.<octet>.x.y address. Writes a kubeconfig for it (context "test") and
serves until stopped; Ctrl-C stops every pod process.

  --kubeconfig FILE        where to write the kubeconfig (required)
  --port N                 the API server's port on 127.0.0.1 (default: a free one)
  --cpus N                 the node's allocatable CPUs (default: ${MINIKUBE_NODE.cpus}, as CONFIG_VLLM_MINIKUBE_CPUS)
  --memory MIB             the node's allocatable memory in MiB (default: ${MINIKUBE_NODE.memoryMiB}, as CONFIG_VLLM_MINIKUBE_MEMORY)
  --probe-time-scale X     multiplies the rendered probes' delays and periods, and the LoRA
                           controller stand-in's 60 s retry (default: 1; 0.1 makes the router
                           Ready in 3 s instead of 30 s)
  --prometheus-operator    serve the ServiceMonitor, PodMonitor and PrometheusRule CRDs, as a
                           cluster with kube-prometheus-stack (configurations with observability
                           render ServiceMonitors; without them helm fails "no matches for kind")

Then, in the project:  VLLM_KUBECONFIG=FILE make defconfig-vllm-existing-cluster+sim && VLLM_KUBECONFIG=FILE make vllm`;

function number(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) fail(`--${name} ${text}: give a number of at least ${min}\n\n${USAGE}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseCli(USAGE, {
    kubeconfig: { type: 'string' }, port: { type: 'string' }, cpus: { type: 'string' }, memory: { type: 'string' },
    'probe-time-scale': { type: 'string' }, 'prometheus-operator': { type: 'boolean' },
  });
  if (!values.kubeconfig) fail(`--kubeconfig FILE is required: where to write the kubeconfig of the double\n\n${USAGE}`);
  const cluster = await ClusterDouble.start({
    node: { cpus: number('cpus', values.cpus, MINIKUBE_NODE.cpus, 0.1), memoryMiB: number('memory', values.memory, MINIKUBE_NODE.memoryMiB, 64) },
    probeTimeScale: number('probe-time-scale', values['probe-time-scale'], 1, 0),
  }, '127.0.0.1', number('port', values.port, 0, 0));
  if (values['prometheus-operator']) for (const crd of prometheusOperatorCrds()) cluster.api.put(crd);
  const file = resolve(values.kubeconfig);
  await cluster.writeKubeconfig(file);
  process.stdout.write(`cluster double listening on ${cluster.url} (node: ${cluster.node.cpus} CPUs, ${cluster.node.memoryMiB} MiB)\nkubeconfig: ${file} (context test)\n  VLLM_KUBECONFIG=${file} make …\nCtrl-C stops it and every pod process.\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping every pod process\n`);
    void cluster.close().then(() => {
      // The kubeconfig would point at nothing.
      writeFileSync(file, '');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

runMain(main);
