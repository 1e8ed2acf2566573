// What an interrupted command leaves: its run recorded as interrupted, with
// what the nodes on this machine wrote until then collected into
// results/<run-id>/<node>/ (step records, suite results, logs), as the results
// step would have. Nodes on declared hosts keep theirs on the host: the run
// says where.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execOk } from '../exec.js';
import { nodeRunDir } from '../results/node-run.js';
import { collectNode, markInterrupted, readRun, type RunRecord } from '../results/run-store.js';

/** Where `vllm-results start` writes the id of the run it started (set by vllm-playbook). */
export const RUN_ID_FILE_ENV = 'VLLM_RUN_ID_FILE';

export interface RunNode {
  name: string;
  host: string | null;
  workDir: string;
}

export interface InterruptedRunInput {
  project: string;
  extraVars: string;
  resultsDir: string;
  runIdFile: string;
  signal: string;
  nodes: RunNode[];
}

/** The run the command had started, recorded as interrupted; null when it had started none. */
export async function recordInterruptedRun(input: InterruptedRunInput): Promise<RunRecord | null> {
  const runId = (await readFile(input.runIdFile, 'utf8').catch(() => '')).trim();
  if (runId === '') return null;
  const run = await readRun(input.resultsDir, runId);
  const notCollected: string[] = [];
  for (const name of Object.keys(run.nodes)) {
    const node = input.nodes.find((n) => n.name === name);
    if (!node) {
      notCollected.push(`${name}: not in the configuration any more`);
      continue;
    }
    if (node.host !== null) {
      notCollected.push(`${name}: on ${node.host} in ${nodeRunDir(node.workDir, runId)}`);
      continue;
    }
    if (!existsSync(nodeRunDir(node.workDir, runId))) continue;
    try {
      // The node tool packs as the results step does (its log lines since the run began, its records).
      const out = await execOk('node', [join(input.project, 'dist', 'scripts', 'vllm-node.js'), 'pack', '--run-id', runId, '--node', name, '--extra-vars', input.extraVars]);
      // Its report line (vllm-node --help) names the tarball.
      const { tarball } = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { tarball?: string };
      if (!tarball) throw new Error(`vllm-node pack named no tarball: ${out.trim()}`);
      await collectNode(input.resultsDir, runId, name, tarball);
    } catch (err) {
      notCollected.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return markInterrupted(input.resultsDir, runId, input.signal, notCollected);
}
