// What differs between what a node runs (its deployment record) and what the
// configuration now asks for, setting by setting, so that status can say
// "configuration changed since deploy" and name the changes.
import type { NodePlan } from '../vocabulary/node-plan.js';
import { redactSpec } from './record.js';

export interface Drift {
  /** Dotted path in the stack spec, e.g. router.routingLogic. */
  setting: string;
  deployed: string;
  configured: string;
}

/** Command-line arguments as flag -> value ("on" for a flag without one), so a changed value reads as one setting. */
function argsMap(list: unknown[], prefix: string, out: Map<string, string>): void {
  for (let i = 0; i < list.length; i++) {
    const token = String(list[i]);
    const next = list[i + 1] === undefined ? undefined : String(list[i + 1]);
    if (token.startsWith('--')) {
      const value = next !== undefined && !next.startsWith('--') ? next : 'on';
      if (value !== 'on') i++;
      out.set(`${prefix} ${token}`, value);
    } else {
      out.set(`${prefix} #${i}`, token);
    }
  }
}

function flatten(value: unknown, prefix: string, out: Map<string, string>): void {
  if (value === null) {
    out.set(prefix, 'off');
  } else if (Array.isArray(value)) {
    if (value.some((v) => String(v).startsWith('--'))) argsMap(value, prefix, out);
    else out.set(prefix, value.join(' '));
  } else if (typeof value === 'object') {
    if (prefix) out.set(prefix, 'on');
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, String(value));
  }
}

/**
 * Settings that differ, in a stable order; secrets are compared redacted (set
 * or not, never by value). A part switched on or off (router, prometheus) is
 * one difference, not one per setting inside it.
 */
export function specDrift(deployed: NodePlan, configured: NodePlan): Drift[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  flatten(redactSpec(deployed), '', a);
  flatten(redactSpec(configured), '', b);
  const drift: Drift[] = [];
  const switched = new Set<string>();
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if ([...switched].some((p) => key.startsWith(`${p}.`) || key.startsWith(`${p} `))) continue;
    const d = a.get(key) ?? '(none)';
    const c = b.get(key) ?? '(none)';
    if (d === c) continue;
    if (d === 'off' || c === 'off') switched.add(key);
    drift.push({ setting: key, deployed: d, configured: c });
  }
  // Whole parts and plain settings first, engine flags last: what users look for first.
  const rank = (k: string) => (k.includes(' ') ? 100 : 0) + k.split('.').length;
  return drift.sort((x, y) => rank(x.setting) - rank(y.setting) || x.setting.localeCompare(y.setting));
}

/** "setting: deployed → configured". */
export function describeDrift(d: Drift): string {
  return `${d.setting}: ${d.deployed} → ${d.configured}`;
}
