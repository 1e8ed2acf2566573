// A strategic merge patch (application/strategic-merge-patch+json, what
// kubectl apply and edit send for built-in kinds), as far as kubectl uses it:
// a merge patch where lists of named objects (containers, env, volumes…)
// merge element by element on their name, and whose directives ($patch,
// $setElementOrder/…, $retainKeys, $deleteFromPrimitiveList/…) steer the
// merge and are never stored. Lists merged on another key (ports on
// containerPort) are replaced whole.
type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const named = (list: unknown[]) => list.length > 0 && list.every((x) => isObject(x) && typeof x.name === 'string');

function mergeNamedLists(target: Obj[], patch: Obj[]): Obj[] {
  const out = [...target];
  for (const item of patch) {
    const at = out.findIndex((x) => x.name === item.name);
    if (item.$patch === 'delete') {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) {
      out[at] = strategicMerge(out[at], item) as Obj;
    } else {
      out.push(strategicMerge(undefined, item) as Obj);
    }
  }
  return out;
}

export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  if (patch.$patch === 'replace') return strategicMerge(undefined, { ...patch, $patch: undefined });
  const out: Obj = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set(Array.isArray(value) ? value : []);
      if (Array.isArray(out[field])) out[field] = (out[field] as unknown[]).filter((x) => !drop.has(x));
      continue;
    }
    if (key.startsWith('$') || value === undefined) continue;
    const current = out[key];
    if (value === null) delete out[key];
    else if (Array.isArray(value) && Array.isArray(current) && named(value) && (current.length === 0 || named(current))) out[key] = mergeNamedLists(current as Obj[], value as Obj[]);
    else if (Array.isArray(value)) out[key] = value.map((x) => strategicMerge(undefined, x));
    else out[key] = strategicMerge(current, value);
  }
  return out;
}
