// The names the controllers give what they make: a ReplicaSet is its
// Deployment's name and the hash of the pod template (the pod-template-hash
// label), a pod its ReplicaSet's name and 5 random characters. Both drawn,
// as Kubernetes' rand.SafeEncodeString and rand.String do, from an alphabet
// without vowels (no words) or look-alike characters.
import { randomBytes } from 'node:crypto';

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * JSON with object keys sorted, without nulls and empty objects: the same template always hashes
 * the same, as Kubernetes hashes its Go struct, in which `creationTimestamp: null` or
 * `resources: {}` (what kubectl rollout undo sends back) cannot be told from absent.
 */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const fields = Object.keys(value).sort().map((k) => [k, stableJson((value as Record<string, unknown>)[k])] as const).filter(([, v]) => v !== '' && v !== '{}');
    return `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
  }
  return value === null || value === undefined ? '' : JSON.stringify(value);
}

/**
 * FNV-1a (32 bits) of the template and the Deployment's collisionCount, its decimal digits
 * encoded as SafeEncodeString does: Kubernetes hashes the Go struct, so the values differ from a
 * real cluster's, but not their form (e.g. 7d9f5c8b6).
 */
export function podTemplateHash(template: unknown, collisionCount = 0): string {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(stableJson(template) + (collisionCount ? String(collisionCount) : ''), 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => ALPHANUMS[c.charCodeAt(0) % ALPHANUMS.length]).join('');
}

/** The random part of a pod's name. */
export function podNameSuffix(): string {
  return [...randomBytes(5)].map((b) => ALPHANUMS[b % ALPHANUMS.length]).join('');
}
