// The controller's results tree: results/<run-id>/run.json plus one folder per
// node, and results/latest pointing at the newest run. Every file is replaced
// atomically; a node's folder appears whole or not at all.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { execOk } from '../exec.js';
import { writeJsonAtomic } from '../atomic-write.js';
import { assertRunId, newRunId } from './run-id.js';
import type { LostNode } from './lost-node.js';
import { nodeVerdict, runVerdict, type NodeSummary, type StepRecord, type Verdict } from './verdict.js';

export interface RunRecord {
  run_id: string;
  started_at: string;
  finished_at: string | null;
  verdict: Verdict;
  config_hash: string;
  git_revision: string;
  target: string;
  nodes: Record<string, NodeSummary>;
  /** Set when the command was stopped before the run ended: by which signal, when, and what was not collected. */
  interrupted?: { signal: string; at: string; not_collected: string[] };
}

export interface RunInfo {
  configHash: string;
  gitRevision: string;
  target: string;
  nodes: string[];
}

const runFile = (resultsDir: string, runId: string) => join(resultsDir, assertRunId(runId), 'run.json');

export async function startRun(resultsDir: string, info: RunInfo, now: Date = new Date()): Promise<RunRecord> {
  await mkdir(resultsDir, { recursive: true });
  let runId = newRunId(now);
  // mkdir without recursive fails when the run exists: runs never overwrite each other.
  for (let attempt = 0; ; attempt++) {
    try {
      await mkdir(join(resultsDir, runId));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 20) throw err;
      runId = newRunId(now);
    }
  }
  const record: RunRecord = {
    run_id: runId, started_at: now.toISOString(), finished_at: null, verdict: 'incomplete',
    config_hash: info.configHash, git_revision: info.gitRevision, target: info.target,
    nodes: Object.fromEntries(info.nodes.map((n) => [n, { verdict: 'incomplete', steps: {} } satisfies NodeSummary])),
  };
  await writeJsonAtomic(runFile(resultsDir, runId), record);
  await pointLatest(resultsDir, runId);
  return record;
}

export async function readRun(resultsDir: string, runId: string): Promise<RunRecord> {
  return JSON.parse(await readFile(runFile(resultsDir, runId), 'utf8')) as RunRecord;
}

/** The newest run, or null when there is none yet. */
export async function latestRun(resultsDir: string): Promise<RunRecord | null> {
  let ids: string[];
  try {
    ids = (await readdir(resultsDir)).filter((d) => /^\d{8}-\d{6}-[0-9a-f]{4}$/.test(d)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  for (const id of ids.reverse()) {
    try {
      return await readRun(resultsDir, id);
    } catch {
      // A run folder without a readable run.json is not a run; look further back.
    }
  }
  return null;
}

export async function readSteps(nodeDir: string): Promise<StepRecord[]> {
  let files: string[];
  try {
    files = (await readdir(join(nodeDir, 'steps'))).filter((f) => f.endsWith('.json')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(nodeDir, 'steps', f), 'utf8')) as StepRecord));
}

/**
 * Unpacks a node's results tarball into results/<run-id>/<node>/ (replacing
 * an earlier copy whole) and brings run.json's verdict up to date.
 */
export async function collectNode(resultsDir: string, runId: string, node: string, tarball: string, now: Date = new Date()): Promise<RunRecord> {
  if (!/^[A-Za-z0-9._-]+$/.test(node)) throw new Error(`"${node}" is not a node name`);
  const record = await readRun(resultsDir, runId);
  const runDir = join(resultsDir, runId);
  const staging = join(runDir, `.${node}.incoming`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging);
  await execOk('tar', ['-xzf', tarball, '-C', staging]);
  const target = join(runDir, node);
  await rm(target, { recursive: true, force: true });
  await rename(staging, target);
  await rm(tarball, { force: true });
  record.nodes[node] = nodeVerdict(await readSteps(target));
  record.verdict = runVerdict(Object.keys(record.nodes), record.nodes);
  record.finished_at = now.toISOString();
  await writeJsonAtomic(runFile(resultsDir, runId), record);
  return record;
}

/**
 * Records a node whose results never came (Ansible lost it mid-run) as failed,
 * with why and its last log lines; a node already collected is left as it is.
 * Returns whether the record changed.
 */
export async function markLost(resultsDir: string, runId: string, node: string, lost: LostNode, now: Date = new Date()): Promise<boolean> {
  const record = await readRun(resultsDir, runId);
  const summary = record.nodes[node];
  if (!summary) throw new Error(`run ${runId} has no node "${node}" (its nodes: ${Object.keys(record.nodes).join(', ')})`);
  if (summary.verdict !== 'incomplete') return false;
  record.nodes[node] = { verdict: 'fail', steps: summary.steps, lost };
  record.verdict = runVerdict(Object.keys(record.nodes), record.nodes);
  record.finished_at = now.toISOString();
  await writeJsonAtomic(runFile(resultsDir, runId), record);
  return true;
}

/** Marks the run as interrupted, keeping each node's verdict from what it collected. */
export async function markInterrupted(resultsDir: string, runId: string, signal: string, notCollected: string[], now: Date = new Date()): Promise<RunRecord> {
  const record = await readRun(resultsDir, runId);
  record.verdict = 'interrupted';
  record.finished_at = now.toISOString();
  record.interrupted = { signal, at: now.toISOString(), not_collected: notCollected };
  await writeJsonAtomic(runFile(resultsDir, runId), record);
  return record;
}

async function pointLatest(resultsDir: string, runId: string): Promise<void> {
  const tmp = join(resultsDir, `.latest.${process.pid}.${randomBytes(4).toString('hex')}`);
  await symlink(runId, tmp);
  await rename(tmp, join(resultsDir, 'latest'));
}
