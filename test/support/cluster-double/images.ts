// Which containers the cluster double can run, and how: this project's image
// (containers/Containerfile) holds the router and the engine simulator, run
// here as processes of this checkout's dist/. Kubernetes' rules for the
// command line: `command` replaces the image's ENTRYPOINT and `args` its CMD
// (https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/#notes).
// Images of other projects run here only where the double has a stand-in of
// what their entry point does (STAND_INS, each named as one); anything else
// (real vLLM, production-stack's Python router) cannot run here, and the
// reason says so, as a cluster without the image would keep it Pending.
import { join } from 'node:path';

/** The image's entry points on PATH (Containerfile: the symlinks into /usr/local/bin). */
export const ENTRY_POINTS: Record<string, string> = {
  'vllm-router': join('dist', 'router', 'src', 'main.js'),
  'vllm-engine-sim': join('dist', 'engine-sim', 'src', 'main.js'),
  vllm: join('dist', 'engine-sim', 'src', 'vllm-main.js'),
};
const ENTRYPOINT = ['vllm-router'];
const CMD = ['--host', '0.0.0.0', '--port', '8000'];

/** This project's images, whatever registry and tag: <anything>/vllm-stack-harness/<name>:<tag>. */
export const PROJECT_IMAGE = /(^|\/)vllm-stack-harness\/[a-z0-9._-]+(:[\w.-]+)?(@sha256:[0-9a-f]+)?$/;

/** Other projects' images whose entry point the double stands in for, with the program that does it (given the rendered args). */
export const STAND_INS: { image: RegExp; script: string; what: string }[] = [
  { image: /(^|\/)lmcache\/lmstack-lora-controller(:[\w.-]+)?(@sha256:[0-9a-f]+)?$/, script: join('dist', 'test', 'support', 'cluster-double', 'lora-controller.js'), what: 'production-stack\'s LoRA controller' },
];

export type Launch = { ok: true; script: string; args: string[] } | { ok: false; reason: 'ErrImagePull' | 'RunContainerError'; message: string };

export function launchOf(container: { image?: string; command?: string[]; args?: string[] }, imagePattern: RegExp = PROJECT_IMAGE): Launch {
  const image = container.image ?? '';
  const standIn = STAND_INS.find((s) => s.image.test(image));
  if (standIn) return { ok: true, script: standIn.script, args: container.args ?? [] };
  if (!imagePattern.test(image)) {
    return { ok: false, reason: 'ErrImagePull', message: `the cluster double runs only this project's image (${imagePattern.source}) as processes; ${image || '(no image)'} is not it, so the pod stays Pending as on a cluster that cannot pull it` };
  }
  const argv = container.command !== undefined && container.command.length > 0 ? [...container.command, ...(container.args ?? [])] : [...ENTRYPOINT, ...(container.args ?? CMD)];
  const [exe = '', ...args] = argv;
  const script = ENTRY_POINTS[exe.replace(/^\/usr\/local\/bin\//, '')];
  if (!script) {
    return { ok: false, reason: 'RunContainerError', message: `exec: "${exe}": executable file not found in $PATH (this project's image has ${Object.keys(ENTRY_POINTS).join(', ')})` };
  }
  return { ok: true, script, args };
}
