// vLLM's LoRA flags, read as vLLM reads them: --lora-modules takes one or more
// modules, each `name=path` or the JSON form {"name", "path", "base_model_name"};
// --max-loras adapters sit on the GPU at once, --max-cpu-loras in the CPU cache
// (at least --max-loras), --max-lora-rank is one of vLLM's choices.

export interface LoraModule {
  name: string;
  path: string;
  /** The model it adapts, as /v1/models shows it in `parent`; null: the first served model name. */
  baseModelName: string | null;
}

export interface LoraSettings {
  enabled: boolean;
  modules: LoraModule[];
  maxLoras: number;
  /** null: as --max-loras (vLLM's default). */
  maxCpuLoras: number | null;
  maxLoraRank: number;
  /** Moving one adapter from the CPU cache onto the GPU, ms at --max-lora-rank 16 (scales with the rank). */
  swapTime: number;
  /** Reading one adapter from its path into the CPU cache, ms. */
  loadTime: number;
}

/** vLLM's accepted --max-lora-rank values. */
export const LORA_RANKS = [1, 8, 16, 32, 64, 128, 256, 320, 512] as const;

export const LORA_DEFAULTS: LoraSettings = { enabled: false, modules: [], maxLoras: 1, maxCpuLoras: null, maxLoraRank: 16, swapTime: 20, loadTime: 100 };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

/** One --lora-modules value; throws naming what is wrong. */
export function parseLoraModule(text: string): LoraModule {
  const t = text.trim();
  if (t.startsWith('{')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (err) {
      throw new Error(`--lora-modules ${t}: not valid JSON (${(err as Error).message}); give name=path or {"name": ..., "path": ...}`);
    }
    const o = v as Record<string, unknown>;
    if (typeof o.name !== 'string' || typeof o.path !== 'string' || !NAME.test(o.name) || o.path === '') {
      throw new Error(`--lora-modules ${t}: the JSON form needs a "name" (letters, digits, . _ : / -) and a non-empty "path"`);
    }
    if (o.base_model_name !== undefined && o.base_model_name !== null && typeof o.base_model_name !== 'string') throw new Error(`--lora-modules ${t}: "base_model_name" must be a string`);
    return { name: o.name, path: o.path, baseModelName: (o.base_model_name as string | undefined) ?? null };
  }
  const eq = t.indexOf('=');
  const name = t.slice(0, eq);
  const path = t.slice(eq + 1);
  if (eq <= 0 || path === '' || !NAME.test(name)) throw new Error(`--lora-modules ${t}: expected name=path (or the JSON form {"name": ..., "path": ...})`);
  return { name, path, baseModelName: null };
}

/** Checks the modules and limits together, as vLLM does at start-up. */
export function checkLoraSettings(s: LoraSettings): LoraSettings {
  if (!s.enabled && s.modules.length > 0) throw new Error('--lora-modules needs --enable-lora');
  const names = new Set<string>();
  for (const m of s.modules) {
    if (names.has(m.name)) throw new Error(`--lora-modules names "${m.name}" twice`);
    names.add(m.name);
  }
  if (!(LORA_RANKS as readonly number[]).includes(s.maxLoraRank)) throw new Error(`--max-lora-rank ${s.maxLoraRank}: choose one of ${LORA_RANKS.join(', ')}`);
  if (s.maxCpuLoras !== null && s.maxCpuLoras < s.maxLoras) throw new Error(`--max-cpu-loras (${s.maxCpuLoras}) must be at least --max-loras (${s.maxLoras})`);
  return s;
}

/**
 * `--lora-modules a=p b=q --x` → `--lora-modules a=p --lora-modules b=q --x`:
 * vLLM takes several modules after one flag; Node's parser takes one value per flag.
 */
export function expandLoraModules(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a !== '--lora-modules') {
      out.push(a);
      continue;
    }
    let taken = 0;
    while (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--')) {
      out.push('--lora-modules', argv[++i] as string);
      taken++;
    }
    if (taken === 0) out.push(a);
  }
  return out;
}

/** VLLM_ALLOW_RUNTIME_LORA_UPDATING as vLLM reads it: "1" or "true", any case. */
export function runtimeUpdatingAllowed(env: NodeJS.ProcessEnv): boolean {
  const v = (env.VLLM_ALLOW_RUNTIME_LORA_UPDATING ?? '0').trim().toLowerCase();
  return v === '1' || v === 'true';
}
