// make vllm-images with stand-ins for docker, podman and minikube (none runs
// here): the image is built under exactly the names the chart will ask the
// cluster for, loaded into minikube on minikube targets, and what is missing
// is said when it cannot be built.
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { $, which } from 'zx';
import { parseAllDocuments } from 'yaml';
import { configureProject, kconfigMissing } from './support/configure.js';
import { referenceChartDir } from './support/reference.js';
import { REPO, tempProject, type TempProject } from './support/temp-project.js';

/** A bin dir holding node and bash, plus stand-ins that log their argv and succeed (or fail `info`). */
async function fakeBin(p: TempProject, name: string, tools: Record<string, 'works' | 'no-daemon'>): Promise<{ path: string; log: () => Promise<string[]> }> {
  const dir = join(p.dir, name);
  await mkdir(dir, { recursive: true });
  for (const real of ['node', 'bash', 'sh']) {
    const found = await which(real);
    await symlink(found, join(dir, real));
  }
  const logFile = join(dir, 'calls.log');
  for (const [tool, mode] of Object.entries(tools)) {
    const fail = mode === 'no-daemon' ? `[ "$1" = info ] && { echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1; }\n` : '';
    await writeFile(join(dir, tool), `#!/bin/sh\necho "${tool} $*" >> ${logFile}\n${fail}exit 0\n`);
    await chmod(join(dir, tool), 0o755);
  }
  return { path: dir, log: async () => (await readFile(logFile, 'utf8').catch(() => '')).split('\n').filter(Boolean) };
}

async function images(p: TempProject, path: string) {
  return $({ cwd: p.dir, nothrow: true, quiet: true, env: { ...process.env, PATH: path, VLLM_CONTAINER_TOOL: '' } })`node ${join(REPO, 'dist/scripts/vllm-images.js')}`;
}

// One throw-away project for the whole file (configuring one costs seconds); tests run in order.
let shared: TempProject | null = null;
after(() => shared?.remove());

async function project(t: TestContext, spec: string, edit: Record<string, string> = {}): Promise<TempProject | null> {
  const why = await kconfigMissing();
  if (why) {
    t.skip(why);
    return null;
  }
  shared ??= await tempProject();
  await configureProject(shared, spec, edit);
  return shared;
}

const ROUTER = 'ghcr.io/vllm-stack-harness/router:0.2.0-rc1';
const ENGINE = 'ghcr.io/vllm-stack-harness/engine-sim:dev-1';

test('minikube with the simulator: built as the chart\'s router and engine images, then loaded into minikube', async (t) => {
  const p = await project(t, 'vllm+sim', { VLLM_ROUTER_TAG: '0.2.0-rc1', VLLM_ENGINE_IMAGE_TAG: 'dev-1' });
  if (!p) return;
  const bin = await fakeBin(p, 'bin', { docker: 'works', minikube: 'works' });
  const out = await images(p, bin.path);
  assert.equal(out.exitCode, 0, out.stderr);
  assert.deepEqual(await bin.log(), [
    'docker info',
    `docker build -f ${p.dir}/containers/Containerfile -t ${ROUTER} -t ${ENGINE} ${p.dir}`,
    `minikube -p minikube image load ${ROUTER}`,
    `minikube -p minikube image load ${ENGINE}`,
  ]);
  assert.match(out.stdout, /ghcr.io\/vllm-stack-harness\/router:0.2.0-rc1 {2}\(vllm-baseline router\)/);
  // The very names the chart renders into the Deployments.
  const chart = referenceChartDir();
  if (chart === null) return;
  const render = await $({ cwd: p.dir, nothrow: true, quiet: true, env: { ...process.env, VLLM_PROD_STACK_CHART_PATH: chart } })`node ${join(REPO, 'dist/scripts/vllm-render.js')} --json`;
  assert.equal(render.exitCode, 0, render.stderr);
  const manifests = (JSON.parse(render.stdout) as { manifests: string | null }[])[0]?.manifests;
  if (!manifests) return;
  const docs = parseAllDocuments(await readFile(manifests, 'utf8')).map((d) => d.toJSON() as { kind?: string; spec?: { template?: { spec?: { containers?: { image: string }[] } } } });
  const deployed = docs.filter((d) => d?.kind === 'Deployment').flatMap((d) => d.spec?.template?.spec?.containers?.map((c) => c.image) ?? []).sort();
  assert.deepEqual(deployed, [ENGINE, ROUTER]);
});

test('podman: the image reaches minikube through an archive; without minikube it is built and the missing minikube named', async (t) => {
  const p = shared ?? await project(t, 'vllm+sim', { VLLM_ROUTER_TAG: '0.2.0-rc1', VLLM_ENGINE_IMAGE_TAG: 'dev-1' });
  if (!p) return;
  const bin = await fakeBin(p, 'bin-podman', { podman: 'works', minikube: 'works' });
  const out = await images(p, bin.path);
  assert.equal(out.exitCode, 0, out.stderr);
  const calls = await bin.log();
  assert.equal(calls[1], `podman build -f ${p.dir}/containers/Containerfile -t ${ROUTER} -t ${ENGINE} ${p.dir}`);
  const archive = `${p.dir}/work/images/ghcr.io_vllm-stack-harness_router_0.2.0-rc1.tar`;
  assert.deepEqual(calls.slice(2, 4), [`podman save -o ${archive} ${ROUTER}`, `minikube -p minikube image load ${archive}`]);
  const noMinikube = await fakeBin(p, 'bin-podman-only', { podman: 'works' });
  const out2 = await images(p, noMinikube.path);
  assert.equal(out2.exitCode, 1);
  assert.match(out2.stderr, /minikube is not installed, so the image was built but not loaded; make bringup installs minikube/);
});

test('no usable docker or podman: nothing is built and the error says what is missing and how to get it', async (t) => {
  const p = shared ?? await project(t, 'vllm+sim', { VLLM_ROUTER_TAG: '0.2.0-rc1', VLLM_ENGINE_IMAGE_TAG: 'dev-1' });
  if (!p) return;
  const none = await fakeBin(p, 'bin-none', {});
  const out = await images(p, none.path);
  assert.equal(out.exitCode, 1);
  assert.match(out.stderr, /the image cannot be built here: docker is not installed; podman is not installed\./);
  assert.match(out.stderr, /sudo apt-get install podman, or docker\.io/);
  const stopped = await fakeBin(p, 'bin-no-daemon', { docker: 'no-daemon' });
  const out2 = await images(p, stopped.path);
  assert.equal(out2.exitCode, 1);
  assert.match(out2.stderr, /docker is installed but `docker info` fails \(Cannot connect to the Docker daemon.*\): start its daemon/);
  assert.deepEqual(await stopped.log(), ['docker info'], 'no build attempted');
});

test('a configuration that uses neither this router nor the simulator gets the default names, and says why', async (t) => {
  const p = await project(t, 'vllm-production-stack-cpu');
  if (!p) return;
  const bin = await fakeBin(p, 'bin-psrouter', { docker: 'works', minikube: 'works' });
  const out = await images(p, bin.path);
  assert.equal(out.exitCode, 0, out.stderr);
  assert.match(out.stdout, /runs neither this project's router nor the simulator on Kubernetes: building with the default names/);
  assert.ok((await bin.log()).some((c) => c.includes('-t ghcr.io/vllm-stack-harness/router:0.1.0 -t ghcr.io/vllm-stack-harness/engine-sim:0.1.0')));
});
