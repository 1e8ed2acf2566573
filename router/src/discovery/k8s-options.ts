// The flags of Kubernetes discovery, as production-stack's router spells them
// (plus --k8s-unhealthy-after, this router's own), parsed and checked at
// startup so that a bad namespace or selector stops the router with a clear
// message instead of failing against the API server forever.

export const K8S_DISCOVERY_TYPES = ['pod-ip', 'service-name'] as const;
export type K8sDiscoveryType = (typeof K8S_DISCOVERY_TYPES)[number];

export interface K8sDiscoveryOptions {
  namespace: string;
  /** A Kubernetes label selector; '' selects every pod (or Endpoints object) of the namespace. */
  labelSelector: string;
  /** The engines' port: http://<podIP>:<port> (pod-ip) or http://<service>:<port> (service-name). */
  port: number;
  type: K8sDiscoveryType;
  /** timeoutSeconds asked of each watch; 0 = a random 300–600 s per watch, as client-go does. */
  watcherTimeoutSeconds: number;
  /** Seconds a GET /v1/models of a new engine may take. */
  modelsTimeoutSeconds: number;
  /** Seconds of continuous discovery failure after which /health answers 503. */
  unhealthyAfterSeconds: number;
}

/** node:util parseArgs definitions of the flags. */
export const K8S_FLAGS = {
  'k8s-namespace': { type: 'string' },
  'k8s-label-selector': { type: 'string' },
  'k8s-port': { type: 'string' },
  'k8s-service-discovery-type': { type: 'string' },
  'k8s-watcher-timeout-seconds': { type: 'string' },
  'backend-health-check-timeout-seconds': { type: 'string' },
  'k8s-unhealthy-after': { type: 'string' },
} as const;

export const K8S_USAGE = `  --k8s-namespace NS                            namespace of the engine pods (k8s discovery; default "default")
  --k8s-label-selector SEL                      label selector of the engine pods, e.g. environment=test,release=test (default: all)
  --k8s-port N                                  the engines' port (default 8000)
  --k8s-service-discovery-type pod-ip|service-name   one engine per ready pod, or per Service with ready endpoints (default pod-ip)
  --k8s-watcher-timeout-seconds S               timeoutSeconds of each watch; 0 = 300-600 s (default 0)
  --backend-health-check-timeout-seconds S      how long a new engine's GET /v1/models may take (default 10)
  --k8s-unhealthy-after S                       /health answers 503 once discovery has failed for S seconds (default 60)`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// A label key ([prefix/]name) and value, as https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/ defines them.
const KEY = String.raw`(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`;
const VALUE = String.raw`(?:[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const REQUIREMENT = new RegExp(String.raw`^(?:!?${KEY}|${KEY}\s*(?:==|=|!=)\s*${VALUE}|${KEY}\s*[<>]\s*\d+|${KEY}\s+(?:in|notin)\s*\(\s*${VALUE}(?:\s*,\s*${VALUE})*\s*\))$`);

/** Splits a selector at the commas that are not inside a set's parentheses. */
function requirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current.trim());
  return parts;
}

export function checkLabelSelector(selector: string): string {
  const text = selector.trim();
  if (text === '') return '';
  const bad = requirements(text).find((r) => !REQUIREMENT.test(r));
  if (bad !== undefined) {
    throw new Error(`--k8s-label-selector ${selector}: "${bad}" is not a label selector requirement (key=value, key!=value, key in (a,b), key notin (a), key or !key, comma separated)`);
  }
  return text;
}

function whole(name: string, text: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!/^\d+$/.test(text.trim()) || v < min || v > max) throw new Error(`--${name} ${text}: expected a whole number from ${min} to ${max}`);
  return v;
}

export function parseK8sOptions(v: Partial<Record<keyof typeof K8S_FLAGS, string>>): K8sDiscoveryOptions {
  const namespace = v['k8s-namespace'] ?? 'default';
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) throw new Error(`--k8s-namespace ${namespace}: a namespace is a DNS label (lower-case letters, digits and '-', at most 63 characters)`);
  const type = v['k8s-service-discovery-type'] ?? 'pod-ip';
  if (!(K8S_DISCOVERY_TYPES as readonly string[]).includes(type)) throw new Error(`--k8s-service-discovery-type ${type}: expected ${K8S_DISCOVERY_TYPES.join(' or ')}`);
  return {
    namespace,
    labelSelector: checkLabelSelector(v['k8s-label-selector'] ?? ''),
    port: whole('k8s-port', v['k8s-port'], 8000, 1, 65535),
    type: type as K8sDiscoveryType,
    watcherTimeoutSeconds: whole('k8s-watcher-timeout-seconds', v['k8s-watcher-timeout-seconds'], 0, 0),
    modelsTimeoutSeconds: whole('backend-health-check-timeout-seconds', v['backend-health-check-timeout-seconds'], 10, 1),
    unhealthyAfterSeconds: whole('k8s-unhealthy-after', v['k8s-unhealthy-after'], 60, 1),
  };
}
