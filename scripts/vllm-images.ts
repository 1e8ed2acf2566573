#!/usr/bin/env node
// make vllm-images: the one image of the router and the engine simulator,
// built with docker or podman under every name the configuration's Helm
// values use, and loaded into minikube on minikube targets.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { $, which } from 'zx';
import { parseCli, runMain } from './lib/cli.js';
import { buildArgv, CONTAINERFILE, configuredImageNames, DEFAULT_TAGS, minikubeLoadSteps, type ContainerTool, type ImageName } from './lib/images/plan.js';
import { DEFAULT_EXTRA_VARS, loadAllNodes, type LoadedConfig } from './lib/stack/load-node.js';

const USAGE = `usage: vllm-images [--extra-vars FILE] [--dry-run]

Builds ${CONTAINERFILE} (the router, the engine simulator and its \`vllm\` entry
point in one image) with docker or podman, tagged with every name the Helm
values of the configuration use: routerSpec.repository:tag where this project's
router runs, the engine image where the simulator is the engine. Without a
Kubernetes configuration, the default names (${DEFAULT_TAGS.join(', ')}).
On minikube targets the image is then loaded into minikube (minikube image load).
Environment: VLLM_CONTAINER_TOOL=docker|podman chooses the tool (default: docker
when installed, else podman).
options:
  --extra-vars FILE   configuration (default: extra_vars.yaml here, when it exists)
  --dry-run           print the commands without running them`;

const shell = (argv: string[]) => argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');

/** Why a tool cannot build here, or null when it can (docker needs its daemon; podman has none). */
async function unusable(tool: ContainerTool): Promise<string | null> {
  if (!(await which(tool, { nothrow: true }))) return `${tool} is not installed`;
  const info = await $({ quiet: true, nothrow: true, timeout: '20s' })`${tool} info`;
  if (info.exitCode === 0) return null;
  const why = (info.stderr || info.stdout).trim().split('\n').filter(Boolean).at(-1) ?? `exit ${info.exitCode}`;
  return `${tool} is installed but \`${tool} info\` fails (${why})${tool === 'docker' ? ': start its daemon (sudo systemctl start docker)' : ''}`;
}

async function containerTool(): Promise<ContainerTool> {
  const wanted = process.env.VLLM_CONTAINER_TOOL;
  if (wanted !== undefined && wanted !== '') {
    if (wanted !== 'docker' && wanted !== 'podman') throw new Error(`VLLM_CONTAINER_TOOL=${wanted}: expected docker or podman`);
    const problem = await unusable(wanted);
    if (problem) throw new Error(`VLLM_CONTAINER_TOOL=${wanted}, but ${problem}`);
    return wanted;
  }
  const problems: string[] = [];
  for (const tool of ['docker', 'podman'] as const) {
    const problem = await unusable(tool);
    if (problem === null) return tool;
    problems.push(problem);
  }
  throw new Error(`the image cannot be built here: ${problems.join('; ')}.
Install one (Debian/Ubuntu: sudo apt-get install podman, or docker.io with its daemon running) and run make vllm-images again,
or build on a machine that has one: docker build -f ${CONTAINERFILE} -t ${DEFAULT_TAGS[0]} .`);
}

async function run(argv: string[], dryRun: boolean): Promise<void> {
  console.log(`$ ${shell(argv)}`);
  if (dryRun) return;
  const [cmd, ...args] = argv as [string, ...string[]];
  const out = await $({ stdio: 'inherit', nothrow: true })`${cmd} ${args}`;
  if (out.exitCode !== 0) throw new Error(`${cmd} ${args[0] ?? ''} failed (exit ${out.exitCode}); its output is above`);
}

async function main(): Promise<void> {
  const { values } = parseCli(USAGE, { 'extra-vars': { type: 'string' }, 'dry-run': { type: 'boolean' } });
  const dryRun = values['dry-run'] ?? false;
  const varsFile = values['extra-vars'] ?? DEFAULT_EXTRA_VARS;
  const config: LoadedConfig | null = values['extra-vars'] !== undefined || existsSync(varsFile) ? await loadAllNodes(varsFile) : null;
  const topdir = config?.topdir ?? process.cwd();
  let names: ImageName[] = config ? configuredImageNames(config.vars, config.nodes.map((n) => n.node)) : [];
  if (names.length === 0) {
    console.log(config === null ? 'no extra_vars.yaml: building with the default names'
      : config.vars.vllm_target === 'local' ? 'CONFIG_VLLM_TARGET is "local" (processes, no image needed): building with the default names'
        : 'this configuration runs neither this project\'s router nor the simulator on Kubernetes: building with the default names');
    names = DEFAULT_TAGS.map((tag) => ({ tag, usedBy: ['default name'] }));
  }
  const tool: ContainerTool = dryRun ? (process.env.VLLM_CONTAINER_TOOL === 'podman' ? 'podman' : 'docker') : await containerTool();
  console.log(`building ${CONTAINERFILE} with ${tool} as:`);
  for (const n of names) console.log(`  ${n.tag}  (${n.usedBy.join(', ')})`);
  await run(buildArgv(tool, names.map((n) => n.tag), resolve(topdir)), dryRun);
  const vars = config?.vars;
  if (vars?.vllm_target === 'minikube') {
    if (vars.vllm_declared_hosts !== '') {
      console.log(`CONFIG_VLLM_DECLARED_HOSTS=${vars.vllm_declared_hosts}: minikube runs on those hosts; run make vllm-images on each of them to load the image there.`);
      return;
    }
    if (!(await which('minikube', { nothrow: true }))) throw new Error('minikube is not installed, so the image was built but not loaded; make bringup installs minikube, then run make vllm-images again');
    const profile = vars.vllm_k8s_context !== undefined && vars.vllm_k8s_context !== '' ? vars.vllm_k8s_context : 'minikube';
    const archiveDir = join(resolve(topdir), 'work', 'images');
    if (tool === 'podman' && !dryRun) await mkdir(archiveDir, { recursive: true });
    console.log(`loading into minikube (profile ${profile}):`);
    for (const n of names) for (const step of minikubeLoadSteps(tool, n.tag, profile, archiveDir)) await run(step, dryRun);
  } else if (vars?.vllm_target === 'existing') {
    console.log('An existing cluster pulls images from a registry: push each name to one it can reach, for example:');
    for (const n of names) console.log(`  ${tool} push ${n.tag}`);
    console.log('(set CONFIG_VLLM_ROUTER_IMAGE / CONFIG_VLLM_ENGINE_IMAGE_REPO to your registry\'s names first if you cannot push to these)');
  }
  console.log(`done: ${names.map((n) => n.tag).join(', ')}`);
}

runMain(main);
