// The engine-container lifecycle as LocalStack drives it, on loopback: a
// stand-in for docker (no daemon runs here) that, like `docker run` in the
// foreground, runs the image's `vllm serve` (the simulator's vllm entry point,
// as the +sim image does) and passes SIGTERM on, as --sig-proxy does. It proves
// the harness's side: the command it starts serves, a graceful stop signals the
// client, and a killed client's container is removed. Not that vLLM or docker
// behave: no GPU and no daemon answer here.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nodePlan, type StackConfigVars } from '../scripts/lib/config/node-plan.js';
import { LocalStack } from '../scripts/lib/targets/local/local-stack.js';
import { engineContainerName } from '../scripts/lib/targets/local/process-commands.js';
import { freePortBase } from './support/temp-project.js';

const VLLM_MAIN = fileURLToPath(new URL('../engine-sim/src/vllm-main.js', import.meta.url));

function dockerStandIn(log: string): string {
  return `#!${process.execPath}
const { appendFileSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { spawn } = require('node:child_process');
const args = process.argv.slice(2);
appendFileSync(${JSON.stringify(log)}, JSON.stringify({ args, hfToken: process.env.HF_TOKEN ?? null }) + '\\n');
// The "container" is the engine process; its pid file, named after the container, is what rm removes.
const state = (name) => ${JSON.stringify(log)} + '.' + name;
if (args[0] === 'rm') {
  // As docker rm --force returns once the container is gone: the process exited (a zombie has closed its sockets).
  let pid = 0;
  try { pid = Number(readFileSync(state(args[2]), 'utf8')); process.kill(pid, 'SIGKILL'); } catch {}
  const gone = () => { try { return readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1].startsWith('Z'); } catch { return true; } };
  while (pid > 0 && !gone()) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  rmSync(state(args[2]), { force: true });
  process.exit(0);
}
if (args[0] !== 'run') { console.error('stand-in: unexpected ' + args[0]); process.exit(125); }
const image = args.indexOf('--entrypoint') + 2;
const child = spawn(process.execPath, [${JSON.stringify(VLLM_MAIN)}, ...args.slice(image + 1)], { stdio: 'inherit' });
writeFileSync(state(args[args.indexOf('--name') + 1]), String(child.pid));
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => child.kill(s));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 143 : 0)));
`;
}

test('engines in containers: started through the runtime, serving, stopped by signal, removed when the client is killed', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'engine-container-'));
  const bin = join(dir, 'bin');
  const log = join(dir, 'docker.log');
  await rm(bin, { recursive: true, force: true });
  await (await import('node:fs/promises')).mkdir(bin);
  await writeFile(join(bin, 'docker'), dockerStandIn(log));
  await chmod(join(bin, 'docker'), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path ?? ''}`;
  t.after(async () => {
    process.env.PATH = path;
    await rm(dir, { recursive: true, force: true });
  });
  const base = await freePortBase(3);
  const vars = {
    vllm_engine: 'vllm', vllm_model_url: 'facebook/opt-125m', vllm_model_name: '', vllm_replica_count: 2,
    vllm_max_model_len: 2048, vllm_max_num_seqs: 16, vllm_dtype: 'auto', vllm_tensor_parallel_size: 1, vllm_enable_prefix_caching: true,
    vllm_enable_chunked_prefill: false, vllm_use_cpu_inference: true, vllm_router_enabled: false, vllm_observability_enabled: false,
    vllm_autoscaling_enabled: false, vllm_engine_install: 'container', vllm_container_runtime: 'docker', vllm_request_gpu: 0,
    vllm_engine_image_repo: 'openeuler/vllm-cpu', vllm_engine_image_tag: '0.9.1-oe2403lts', vllm_hf_cache_dir: join(dir, 'hf'),
  } as StackConfigVars;
  const spec = nodePlan(vars, {
    name: 'vllm-baseline', role: 'baseline', index: 0, host: null, workDir: join(dir, 'work'), stateDir: join(dir, 'state'),
    routerPort: base, enginePortBase: base + 1, prometheusPort: base + 2, routerImpl: 'builtin', routingLogic: 'roundrobin', lmcacheEnabled: false, extraEngineArgs: [],
  }, { hfToken: 'hf-secret' }, dir);
  const stack = await LocalStack.deploy(spec);
  t.after(() => stack.teardown());
  const engines = await stack.engines();
  assert.deepEqual(engines.map((e) => [e.id, e.ready]), [['engine-0', true], ['engine-1', true]], 'both engines serve through the runtime\'s command line');
  const calls = () => readFile(log, 'utf8').then((text) => text.trim().split('\n').map((l) => JSON.parse(l) as { args: string[]; hfToken: string | null }));
  const runs = (await calls()).filter((c) => c.args[0] === 'run');
  assert.equal(runs.length, 2);
  assert.ok(runs.every((c) => c.hfToken === 'hf-secret' && !c.args.join(' ').includes('hf-secret')), 'the token reaches the client by environment only');

  await stack.stopEngine('engine-1', 'kill');
  const afterKill = (await calls()).filter((c) => c.args[0] === 'rm');
  assert.deepEqual(afterKill.map((c) => c.args), [['rm', '--force', engineContainerName(spec, 1)]], 'a killed client leaves its container: removed');
  const port = spec.enginePortBase + 1;
  assert.equal(await fetch(`http://127.0.0.1:${port}/health`).then(() => 'answers', () => 'gone'), 'gone', 'the engine the killed client left no longer serves');

  await stack.teardown();
  const removed = (await calls()).filter((c) => c.args[0] === 'rm').map((c) => c.args[2]);
  assert.deepEqual(removed.sort(), [engineContainerName(spec, 0), engineContainerName(spec, 1), engineContainerName(spec, 1)].sort(),
    'teardown stops engine-0 by signal and removes what both may have left');
  assert.deepEqual((await stack.engines()).filter((e) => e.running), []);
});
