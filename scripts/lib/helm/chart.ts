// Where the production-stack chart comes from and the helm binary that reads
// it. The chart is a local directory (VLLM_PROD_STACK_CHART_PATH in the
// environment, else CONFIG_VLLM_PROD_STACK_CHART_PATH) or the pinned version
// pulled once from the repository into the work dir: validation, rendering and
// installing all read the same files.
import { access, mkdir, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join, resolve } from 'node:path';
import { $, which } from 'zx';
import { parse } from 'yaml';
import type { ChartDefinition } from './validate-values.js';

export const CHART_NAME = 'vllm-stack';

export interface ChartSource {
  /** A local chart directory, or null to pull from the repository. */
  path: string | null;
  repo: string;
  version: string;
}

export function chartSource(vars: { vllm_prod_stack_chart_path?: string; vllm_prod_stack_chart_repo?: string; vllm_prod_stack_chart_version?: string }, topdir: string, env: NodeJS.ProcessEnv = process.env): ChartSource {
  const configured = env.VLLM_PROD_STACK_CHART_PATH || vars.vllm_prod_stack_chart_path || '';
  return {
    path: configured === '' ? null : resolve(topdir, configured),
    repo: vars.vllm_prod_stack_chart_repo ?? '',
    version: vars.vllm_prod_stack_chart_version ?? '',
  };
}

/** helm on the PATH (bring-up installs the pinned release there), else the one make deps extracted. */
export async function findHelm(topdir: string): Promise<string | null> {
  const onPath = await which('helm', { nothrow: true });
  if (onPath) return onPath;
  const local = join(topdir, '.tools', 'bin', 'helm');
  try {
    await access(local, constants.X_OK);
    return local;
  } catch {
    return null;
  }
}

export function pullArgs(source: ChartSource, untarDir: string): string[] {
  return ['pull', CHART_NAME, '--repo', source.repo, '--version', source.version, '--untar', '--untardir', untarDir];
}

/** The chart directory to use: the local one, or the pinned version pulled into chartsDir (once). */
export async function resolveChart(source: ChartSource, helm: string | null, chartsDir: string): Promise<string> {
  if (source.path !== null) {
    await access(join(source.path, 'Chart.yaml')).catch(() => {
      throw new Error(`${source.path} is not a Helm chart (no Chart.yaml); fix VLLM_PROD_STACK_CHART_PATH or CONFIG_VLLM_PROD_STACK_CHART_PATH`);
    });
    return source.path;
  }
  const untarDir = join(chartsDir, `${CHART_NAME}-${source.version}`);
  const dir = join(untarDir, CHART_NAME);
  if (await access(join(dir, 'Chart.yaml')).then(() => true, () => false)) return dir;
  if (!helm) throw new Error(`helm is not installed, so chart ${CHART_NAME} ${source.version} cannot be pulled from ${source.repo}: run make bringup (installs the pinned helm) or make deps, or set VLLM_PROD_STACK_CHART_PATH to a local copy of the chart`);
  await mkdir(untarDir, { recursive: true });
  const out = await $({ quiet: true, nothrow: true })`${helm} ${pullArgs(source, untarDir)}`;
  if (out.exitCode !== 0) {
    throw new Error(`could not pull chart ${CHART_NAME} ${source.version} from ${source.repo} (CONFIG_VLLM_PROD_STACK_CHART_REPO, CONFIG_VLLM_PROD_STACK_CHART_VERSION): ${out.stderr.trim()}\nWithout network access, set VLLM_PROD_STACK_CHART_PATH to a local copy of the chart.`);
  }
  return dir;
}

export async function loadChart(dir: string): Promise<ChartDefinition & { version: string }> {
  const chart = parse(await readFile(join(dir, 'Chart.yaml'), 'utf8')) as { name?: string; version?: string };
  if (chart.name !== CHART_NAME) throw new Error(`${dir} holds chart "${chart.name}", not ${CHART_NAME}`);
  const schema = JSON.parse(await readFile(join(dir, 'values.schema.json'), 'utf8')) as Record<string, unknown>;
  const defaults = parse(await readFile(join(dir, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  return { schema, defaults, version: chart.version ?? '' };
}
