// A container's environment as the kubelet builds it: literal values,
// valueFrom secretKeyRef / configMapKeyRef / fieldRef, and envFrom. A missing
// Secret or ConfigMap that is not optional is the kubelet's
// CreateContainerConfigError.
import type { KubeObject } from '../kube-api/store.js';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

export interface EnvSource {
  secretRef?: { name: string; optional?: boolean };
  configMapRef?: { name: string; optional?: boolean };
  prefix?: string;
}

export class ContainerConfigError extends Error {}

type Lookup = (kind: 'Secret' | 'ConfigMap', name: string) => KubeObject | undefined;

function dataOf(obj: KubeObject): Record<string, string> {
  if (obj.kind === 'Secret') {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries((obj.data ?? {}) as Record<string, string>)) out[k] = Buffer.from(v, 'base64').toString('utf8');
    return { ...out, ...((obj.stringData ?? {}) as Record<string, string>) };
  }
  return (obj.data ?? {}) as Record<string, string>;
}

export function containerEnv(pod: KubeObject, container: { env?: EnvVar[]; envFrom?: EnvSource[] }, lookup: Lookup): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const ref = from.secretRef ?? from.configMapRef;
    if (!ref) continue;
    const kind = from.secretRef ? 'Secret' : 'ConfigMap';
    const obj = lookup(kind, ref.name);
    if (!obj) {
      if (ref.optional) continue;
      throw new ContainerConfigError(`${kind.toLowerCase()} "${ref.name}" not found`);
    }
    for (const [k, v] of Object.entries(dataOf(obj))) env[`${from.prefix ?? ''}${k}`] = v;
  }
  const fields: Record<string, () => string | undefined> = {
    'metadata.name': () => pod.metadata.name,
    'metadata.namespace': () => pod.metadata.namespace,
    'status.podIP': () => (pod.status as { podIP?: string } | undefined)?.podIP,
    'spec.nodeName': () => (pod.spec as { nodeName?: string } | undefined)?.nodeName,
  };
  for (const e of container.env ?? []) {
    if (e.value !== undefined || !e.valueFrom) {
      env[e.name] = (e.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, name: string) => env[name] ?? all);
      continue;
    }
    const { secretKeyRef, configMapKeyRef, fieldRef } = e.valueFrom;
    const keyRef = secretKeyRef ?? configMapKeyRef;
    if (keyRef) {
      const kind = secretKeyRef ? 'Secret' : 'ConfigMap';
      const obj = lookup(kind, keyRef.name);
      const value = obj ? dataOf(obj)[keyRef.key] : undefined;
      if (value === undefined) {
        if (keyRef.optional) continue;
        throw new ContainerConfigError(obj ? `couldn't find key ${keyRef.key} in ${kind} ${pod.metadata.namespace}/${keyRef.name}` : `${kind.toLowerCase()} "${keyRef.name}" not found`);
      }
      env[e.name] = value;
    } else if (fieldRef) {
      env[e.name] = fields[fieldRef.fieldPath]?.() ?? '';
    }
  }
  return env;
}
