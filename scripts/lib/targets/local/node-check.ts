// Bring-up checks of a local node: can it run what its configuration asks?
// Each line says what was checked; a failure says what to do.
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listRecords } from '../../deployment/index.js';
import { onPath } from '../../exec.js';
import type { NodePlan } from '../../vocabulary/node-plan.js';
import { LocalStack } from './local-stack.js';
import { atLeast } from './versions.js';
import { gatherVllmFacts, judgeVllmHost } from './vllm-host-check.js';

// package.json's engines.node, which README states too.
const REQUIRED_NODE = [20, 18, 1] as const;

export async function checkNode(spec: NodePlan): Promise<string[]> {
  const lines: string[] = [];
  const problems: string[] = [];
  if (!atLeast(process.versions.node, REQUIRED_NODE)) problems.push(`Node.js ${process.version} is too old: ${REQUIRED_NODE.join('.')} or newer is needed`);
  else lines.push(`✅ Node.js ${process.version}`);

  for (const [what, rel] of [['engine simulator', '../../../../engine-sim/src/main.js'], ['router', '../../../../router/src/main.js']] as const) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    try {
      await access(path, constants.R_OK);
      lines.push(`✅ ${what} built (${path})`);
    } catch {
      problems.push(`the ${what} is not built (${path} missing): run make deps, then make again`);
    }
  }
  const missing = await LocalStack.missingPrograms(spec);
  problems.push(...missing);
  const install = spec.engine.vllm?.install.kind ?? 'path';
  if (spec.engine.kind === 'vllm' && install === 'path' && missing.length === 0) lines.push(`✅ vllm at ${await onPath('vllm')}`);
  const vllmHost = judgeVllmHost(spec, await gatherVllmFacts(spec));
  lines.push(...vllmHost.lines);
  problems.push(...vllmHost.problems);
  if (spec.prometheus) {
    const prom = await onPath('prometheus');
    lines.push(prom ? `✅ prometheus at ${prom}` : '⚠️  observability is on but prometheus is not installed (make deps installs it); the stack will run without it');
  }

  try {
    await mkdir(spec.workDir, { recursive: true });
    const probe = join(spec.workDir, `.write-test-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe);
    lines.push(`✅ work dir ${spec.workDir}`);
  } catch (err) {
    problems.push(`work dir ${spec.workDir} is not writable (${(err as Error).message}): set CONFIG_VLLM_WORK_DIR to a writable place`);
  }

  // Ports held by deployments this project recorded are fine: make vllm stops those first.
  const busy = await LocalStack.busyPorts(spec, () => true);
  problems.push(...busy);
  if (busy.length === 0) {
    // Only this node's own deployment can hold its ports (each node has ports of its own).
    const deployed = (await listRecords(spec.stateDir)).some((r) => r.node === spec.node);
    lines.push(`✅ ports free: router ${spec.routerPort}, engines ${spec.enginePortBase}..${spec.enginePortBase + spec.maxReplicas - 1}${spec.prometheus ? `, prometheus ${spec.prometheus.port}` : ''}${deployed ? ' (or held by its running deployment, which make vllm replaces)' : ''}`);
  }
  if (problems.length > 0) throw new Error(`node ${spec.node} is not ready:\n${problems.map((p) => `  ❌ ${p}`).join('\n')}\n${lines.map((l) => `  ${l}`).join('\n')}`);
  return lines;
}
