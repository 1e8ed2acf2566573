// The image definition (containers/Containerfile), checked without a
// container engine: what it copies exists, what it compiles closes over the
// two services and needs only production dependencies (it installs with
// npm ci --omit=dev), its entry points exist in the build output and run,
// it runs as a non-root user, and its HEALTHCHECK tells a live service from
// a dead one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { $ } from 'zx';
import { REPO } from './support/temp-project.js';
import { sharedFreePort, until } from './support/loopback.js';

interface Instruction {
  stage: number;
  op: string;
  args: string;
}

/** Instructions with their stage (FROM starts one), continuation lines joined, comments dropped. */
function parseContainerfile(text: string): Instruction[] {
  const lines: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    current += raw.replace(/\\\s*$/, ' ');
    if (/\\\s*$/.test(raw)) continue;
    if (current.trim() !== '') lines.push(current.trim());
    current = '';
  }
  let stage = -1;
  return lines.map((line) => {
    const [op = '', ...rest] = line.split(/\s+/);
    if (op.toUpperCase() === 'FROM') stage++;
    return { stage, op: op.toUpperCase(), args: rest.join(' ') };
  });
}

const CONTAINERFILE = join(REPO, 'containers', 'Containerfile');
const steps = parseContainerfile(readFileSync(CONTAINERFILE, 'utf8'));
const last = Math.max(...steps.map((s) => s.stage));
const final = steps.filter((s) => s.stage === last);
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** /usr/local/bin/NAME -> the compiled file under dist/ it links to. */
function entryPoints(): Map<string, string> {
  const links = new Map<string, string>();
  for (const s of final.filter((i) => i.op === 'RUN')) {
    for (const m of s.args.matchAll(/ln -s \/app\/(dist\/\S+) \/usr\/local\/bin\/(\S+)/g)) links.set(m[2] as string, m[1] as string);
  }
  return links;
}

test('the image has the three entry points, each compiled, executable and running from the build output', async () => {
  const links = entryPoints();
  assert.deepEqual([...links.keys()].sort(), ['vllm', 'vllm-engine-sim', 'vllm-router']);
  const chmod = final.find((s) => s.op === 'RUN' && s.args.includes('chmod'))?.args ?? '';
  for (const [name, file] of links) {
    const path = join(REPO, file);
    assert.ok(existsSync(path), `${name}: ${file} is in the build output`);
    assert.match(readFileSync(path, 'utf8'), /^#!\/usr\/bin\/env node\n/, `${name}: a node script`);
    assert.ok(chmod.includes(file), `${name}: made executable`);
  }
  const entrypoint = JSON.parse(final.find((s) => s.op === 'ENTRYPOINT')?.args ?? '[]') as string[];
  assert.deepEqual(entrypoint, ['vllm-router'], 'the router by default: the chart\'s router Deployment gives only args');
  const cmd = JSON.parse(final.find((s) => s.op === 'CMD')?.args ?? '[]') as string[];
  const runs = await Promise.all([
    $({ nothrow: true, quiet: true, cwd: REPO })`node ${links.get('vllm-router')} ${cmd} --help`,
    $({ nothrow: true, quiet: true, cwd: REPO })`node ${links.get('vllm-engine-sim')} --help`,
    $({ nothrow: true, quiet: true, cwd: REPO })`node ${links.get('vllm')} serve --help`,
  ]);
  assert.deepEqual(runs.map((r) => r.exitCode), [0, 0, 0], runs.map((r) => r.stderr).join('\n'));
  assert.match(runs[0]?.stdout ?? '', /usage: vllm-router/);
});

test('the image runs as a non-root numeric user and installs production dependencies only', () => {
  const user = final.filter((s) => s.op === 'USER').at(-1)?.args ?? '';
  assert.match(user, /^\d+(:\d+)?$/, 'numeric, so Kubernetes can verify runAsNonRoot');
  assert.notEqual(user.split(':')[0], '0');
  assert.ok(final.some((s) => s.op === 'RUN' && /\bnpm ci\b.*--omit=dev/.test(s.args)), 'npm ci --omit=dev in the final stage');
  assert.ok(final.some((s) => s.op === 'COPY' && s.args.startsWith('--from=build') && s.args.includes('dist')), 'the compiled output comes from the build stage');
  assert.ok(!final.some((s) => s.op === 'COPY' && !s.args.startsWith('--from') && /(router|engine-sim)\/src/.test(s.args)), 'no sources in the final image');
});

test('every file the image copies from the project exists and is not excluded from the build context', () => {
  const ignored = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const copies = steps.filter((s) => s.op === 'COPY' && !s.args.startsWith('--from'));
  assert.ok(copies.length >= 4);
  for (const c of copies) {
    const parts = c.args.split(/\s+/);
    for (const source of parts.slice(0, -1)) {
      assert.ok(existsSync(join(REPO, source)), `${source} exists`);
      const top = source.split('/')[0] as string;
      assert.ok(!ignored.some((p) => p === top || p === source || (p.endsWith('*') && top.startsWith(p.slice(0, -1)))), `${source} is not in .dockerignore`);
    }
  }
});

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('what the image compiles imports nothing outside the two services and no devDependency', () => {
  const config = JSON.parse(readFileSync(join(REPO, 'containers', 'tsconfig.image.json'), 'utf8')) as { include: string[] };
  const roots = config.include.map((g) => resolve(REPO, 'containers', g.replace(/\/\*\*.*$/, '')));
  assert.deepEqual(roots.map((r) => relative(REPO, r)).sort(), ['engine-sim/src', 'router/src']);
  const buildCopies = steps.filter((s) => s.stage === 0 && s.op === 'COPY').map((s) => s.args.split(/\s+/)[0]);
  for (const root of roots) assert.ok(buildCopies.includes(relative(REPO, root)), `${relative(REPO, root)} is copied into the build stage`);
  const bare = new Set<string>();
  for (const file of roots.flatMap(sources)) {
    const text = readFileSync(file, 'utf8');
    const specs = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gm), ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)];
    for (const m of specs) {
      const spec = m[1] as string;
      if (spec.startsWith('node:')) continue;
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        assert.ok(roots.some((r) => target.startsWith(`${r}/`)), `${relative(REPO, file)} imports ${spec}, outside what the image compiles`);
      } else {
        bare.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string));
      }
    }
  }
  for (const name of bare) assert.ok(name in pkg.dependencies, `${name} is imported by a service, so it must be a dependency (npm ci --omit=dev leaves out devDependencies)`);
  assert.ok(bare.has('undici') && bare.has('@kubernetes/client-node'));
});

test('the HEALTHCHECK passes against a serving engine and fails when nothing answers', async (t) => {
  const health = final.find((s) => s.op === 'HEALTHCHECK')?.args ?? '';
  const m = /CMD (\[.*\])$/.exec(health);
  assert.ok(m, 'HEALTHCHECK ... CMD [exec form]');
  const argv = JSON.parse(m[1] as string) as string[];
  assert.equal(argv[0], 'node');
  const port = await sharedFreePort(['127.0.0.1']);
  const sim = spawn(process.execPath, [join(REPO, 'dist/engine-sim/src/main.js'), '--port', String(port)], { stdio: 'ignore' });
  t.after(() => sim.kill('SIGKILL'));
  const check = async () => (await $({ nothrow: true, quiet: true, env: { ...process.env, VLLM_HEALTH_PORT: String(port) } })`${process.execPath} ${argv.slice(1)}`).exitCode;
  await until('the engine', async () => (await check()) === 0);
  sim.kill('SIGKILL');
  await new Promise((r) => sim.once('exit', r));
  assert.equal(await check(), 1);
});
