// The helm command lines of a node, as argument vectors (never shell text):
// what make vllm-render shows, what the deploy runs, what the README quotes.
import type { ReleaseNames } from './names.js';

export interface ClusterAccess {
  /** kubeconfig file, '' for helm's default. */
  kubeconfig: string;
  /** kubeconfig context, '' for the current one. */
  context: string;
}

function accessArgs(a: ClusterAccess): string[] {
  return [...(a.kubeconfig ? ['--kubeconfig', a.kubeconfig] : []), ...(a.context ? ['--kube-context', a.context] : [])];
}

export function templateArgs(names: ReleaseNames, chartDir: string, valuesFile: string): string[] {
  return ['template', names.release, chartDir, '--namespace', names.namespace, '--values', valuesFile];
}

/** Waits until every Deployment is ready, or fails after the timeout (real vLLM downloads its model first). */
export function installArgs(names: ReleaseNames, chartDir: string, valuesFile: string, timeoutSeconds: number, a: ClusterAccess): string[] {
  return ['upgrade', '--install', names.release, chartDir, '--namespace', names.namespace, '--create-namespace', '--values', valuesFile, '--wait', '--timeout', `${timeoutSeconds}s`, ...accessArgs(a)];
}

export function uninstallArgs(names: ReleaseNames, a: ClusterAccess): string[] {
  return ['uninstall', names.release, '--namespace', names.namespace, '--wait', '--ignore-not-found', ...accessArgs(a)];
}

export function statusArgs(names: ReleaseNames, a: ClusterAccess): string[] {
  return ['status', names.release, '--namespace', names.namespace, '--output', 'json', ...accessArgs(a)];
}

/** Quoted for a shell, to show users the exact line. */
export function shellLine(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./:=@,+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
