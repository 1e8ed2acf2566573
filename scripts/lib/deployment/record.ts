// The record of what a node runs, kept apart from the configuration: written
// when a deploy starts, updated as the stack changes, removed by teardown.
// Teardown, status and the next deploy read it, so a changed (or removed)
// .config never loses a running deployment. It lives in <project>/.deployed/,
// a place no configuration option moves. Secrets are never written: their
// values are replaced by a placeholder, and the files that hold them are noted
// so that a command attaching to the stack can read them again.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../atomic-write.js';
import type { NodePlan } from '../vocabulary/node-plan.js';
import type { NodeRef } from './node-lock.js';

export { STATE_DIR } from '../config/node-config.js';

/** Environment variables whose values are secrets. */
export const SECRET_ENV = ['HF_TOKEN', 'VLLM_API_KEY'] as const;
const REDACTED = '(secret, not recorded)';

export interface StackState {
  /** Engines the router is configured with: running ones, and killed ones it must cope with. */
  engines: number[];
  router: boolean;
  prometheus: boolean;
}

export interface DeploymentRecord {
  node: string;
  role: 'baseline' | 'dev';
  /** Declared host reached by SSH, or null for this machine. */
  host: string | null;
  target: 'local';
  /** deploying: started by `deployer`, not finished (or interrupted, when the deployer is gone). */
  state: 'deploying' | 'deployed';
  deployer: { pid: number; start: string | null; command: string };
  startedAt: string;
  deployedAt: string | null;
  /** The run whose deploy step made it, when there was one. */
  runId: string | null;
  /** Files the secrets came from (empty: none, or the environment). */
  secretFiles: { apiKey: string; hfToken: string };
  /** The effective settings the stack was started with, secrets redacted. */
  spec: NodePlan;
  stack: StackState;
}

export function recordFile(ref: NodeRef): string {
  return join(ref.stateDir, `${ref.node}.json`);
}

function redactEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, (SECRET_ENV as readonly string[]).includes(k) ? REDACTED : v]));
}

/** The spec as it may be written down: secret values replaced. */
export function redactSpec(spec: NodePlan): NodePlan {
  return {
    ...spec,
    engine: { ...spec.engine, env: redactEnv(spec.engine.env) },
    router: spec.router ? { ...spec.router, env: redactEnv(spec.router.env) } : null,
  };
}

/** The recorded spec with the secrets read again; a secret that is gone now is left out. */
export function restoreSecrets(spec: NodePlan, secrets: { apiKey?: string; hfToken?: string }): NodePlan {
  const values: Record<string, string | undefined> = { HF_TOKEN: secrets.hfToken, VLLM_API_KEY: secrets.apiKey };
  const restore = (env: Record<string, string>) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) {
      if (v !== REDACTED) out[k] = v;
      else if (values[k] !== undefined) out[k] = values[k];
    }
    return out;
  };
  return {
    ...spec,
    engine: { ...spec.engine, env: restore(spec.engine.env) },
    router: spec.router ? { ...spec.router, env: restore(spec.router.env) } : null,
  };
}

export async function readRecord(ref: NodeRef): Promise<DeploymentRecord | null> {
  const path = recordFile(ref);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const record = JSON.parse(text) as DeploymentRecord;
    if (record.node !== ref.node || typeof record.spec?.workDir !== 'string') throw new Error('not the record of this node');
    return record;
  } catch (err) {
    throw new Error(`${path} is not a deployment record of node ${ref.node} (${(err as Error).message}); stop what it ran by hand and remove it`);
  }
}

export async function writeRecord(record: DeploymentRecord): Promise<void> {
  await writeJsonAtomic(recordFile({ node: record.node, stateDir: record.spec.stateDir }), { ...record, spec: redactSpec(record.spec) });
}

export async function removeRecord(ref: NodeRef): Promise<void> {
  await rm(recordFile(ref), { force: true });
}

/** Every node this project has a record of, by name. */
export async function listRecords(stateDir: string): Promise<DeploymentRecord[]> {
  let files: string[];
  try {
    files = (await readdir(stateDir)).filter((f) => f.endsWith('.json') && !f.startsWith('.'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const records = await Promise.all(files.sort().map((f) => readRecord({ node: f.slice(0, -'.json'.length), stateDir })));
  return records.filter((r): r is DeploymentRecord => r !== null);
}
