// Secrets never live in .config or extra_vars.yaml: the configuration names
// files, and the usual environment variables win over them.
import { readFile } from 'node:fs/promises';
import type { Secrets } from '../config/node-plan.js';

async function fromFile(path: string | undefined, symbol: string): Promise<string | undefined> {
  if (path === undefined || path === '') return undefined;
  try {
    const value = (await readFile(path, 'utf8')).trim();
    if (value === '') throw new Error(`${path} (named by CONFIG_${symbol}) is empty; put the secret in it or unset CONFIG_${symbol}`);
    return value;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`${path} (named by CONFIG_${symbol}) does not exist; create it or unset CONFIG_${symbol}`);
    }
    throw err;
  }
}

export async function readSecrets(vars: { vllm_hf_token_file?: string; vllm_api_key_file: string }, env: NodeJS.ProcessEnv = process.env): Promise<Secrets> {
  const hfToken = env.HF_TOKEN || (await fromFile(vars.vllm_hf_token_file, 'VLLM_HF_TOKEN_FILE'));
  const apiKey = env.VLLM_API_KEY || (await fromFile(vars.vllm_api_key_file, 'VLLM_API_KEY_FILE'));
  return { ...(hfToken ? { hfToken } : {}), ...(apiKey ? { apiKey } : {}) };
}
