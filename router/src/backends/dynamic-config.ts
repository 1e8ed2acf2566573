// --dynamic-config-json/-yaml: the production-stack router's format, watched
// so that backends, models, routing logic and session key change without a
// restart. A bad file is logged and ignored; the running config stays.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { parse } from 'yaml';
import type { BackendSpec } from '../discovery/index.js';
import { normalizeUrl, parseAliases, parseList, parseModelTypes, parseRoutingLogic, perBackend } from '../options.js';
import type { RoutingLogic } from '../routing/index.js';

export interface DynamicConfig {
  /** null: the file does not mention backends, so they stay as they are. */
  backends: BackendSpec[] | null;
  aliases: Record<string, string> | null;
  routingLogic: RoutingLogic | null;
  sessionKey: string | null;
  prefixMinMatchLength: number | null;
}

const KNOWN = new Set(['service_discovery', 'static_backends', 'static_models', 'static_aliases', 'static_model_types', 'static_model_labels', 'routing_logic', 'session_key', 'prefix_min_match_length', 'static_backend_health_checks']);

export function parseDynamicConfig(text: string, file: string): DynamicConfig {
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file} must hold an object of settings`);
  const c = raw as Record<string, unknown>;
  for (const key of Object.keys(c)) if (!KNOWN.has(key)) throw new Error(`${file}: unknown key "${key}"; known: ${[...KNOWN].join(', ')}`);
  if (c.service_discovery !== undefined && c.service_discovery !== 'static') throw new Error(`${file}: service_discovery "${String(c.service_discovery)}" is not supported; use static`);
  const str = (key: string): string | null => {
    const v = c[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') throw new Error(`${file}: ${key} must be a string`);
    return v;
  };
  const backendsText = str('static_backends');
  const modelsText = str('static_models');
  if ((backendsText === null) !== (modelsText === null)) throw new Error(`${file}: static_backends and static_models go together; give both or neither`);
  const backends = parseList(backendsText ?? '').map(normalizeUrl);
  const models = parseList(modelsText ?? '');
  if (models.length !== backends.length) throw new Error(`${file}: static_models names ${models.length} model(s) for ${backends.length} backend(s); give one per backend`);
  const types = perBackend(parseModelTypes(str('static_model_types') ?? '', `${file}: static_model_types`), backends.length, `${file}: static_model_types`);
  const labels = perBackend(parseList(str('static_model_labels') ?? ''), backends.length, `${file}: static_model_labels`);
  const logic = str('routing_logic');
  const minMatch = c.prefix_min_match_length;
  if (minMatch !== undefined && (typeof minMatch !== 'number' || !Number.isInteger(minMatch) || minMatch < 0)) throw new Error(`${file}: prefix_min_match_length must be a whole number`);
  return {
    backends: backendsText === null ? null : backends.map((url, i) => ({ url, models: [models[i] as string], label: labels[i] ?? 'default', modelType: types[i] ?? null })),
    aliases: str('static_aliases') === null ? null : parseAliases(str('static_aliases') ?? ''),
    routingLogic: logic === null ? null : parseRoutingLogic(logic),
    sessionKey: str('session_key'),
    prefixMinMatchLength: (minMatch as number | undefined) ?? null,
  };
}

/** Polls the file (robust to the write-temp-then-rename way of replacing it) and calls back on each valid change. */
export function watchDynamicConfig(file: string, apply: (c: DynamicConfig) => void, log: (msg: string) => void, intervalMs = 250): () => void {
  let last = '';
  const load = () => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      log(`dynamic config ${file} cannot be read (${(err as Error).message}); keeping the running config`);
      return;
    }
    if (text === last) return;
    last = text;
    try {
      apply(parseDynamicConfig(text, file));
    } catch (err) {
      log(`dynamic config rejected, keeping the running config: ${(err as Error).message}`);
    }
  };
  load();
  watchFile(file, { interval: intervalMs, persistent: false }, load);
  return () => unwatchFile(file, load);
}
