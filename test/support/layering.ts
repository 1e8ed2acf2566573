// The floors of the harness library (README.md, "Code layout") and the rules
// every import keeps: a folder imports only folders on floors below its own
// (or itself), the services never import the harness, product code never
// imports tests. The rules are a pure function of (file, imported file) pairs
// so that a planted upward import can be shown to fail.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** Bottom first. A folder not listed belongs to the nearest listed folder above it (targets/kube is targets). */
export const FLOORS: readonly (readonly string[])[] = [
  ['scripts/lib'],
  ['scripts/lib/vocabulary'],
  ['scripts/lib/config'],
  ['scripts/lib/compare', 'scripts/lib/stack', 'scripts/lib/observability'],
  ['scripts/lib/results', 'scripts/lib/deployment', 'scripts/lib/helm'],
  ['scripts/lib/report'],
  ['scripts/lib/suites', 'scripts/lib/bench', 'scripts/lib/status', 'scripts/lib/smoke'],
  ['scripts/lib/run-control', 'scripts/lib/images'],
  ['scripts/lib/targets'],
  ['scripts'],
];

export interface Import {
  /** Repository-relative paths, '/'-separated. */
  from: string;
  to: string;
}

const PRODUCT = ['scripts/', 'router/src/', 'engine-sim/src/'];
const SERVICES = ['router/', 'engine-sim/'];

/** The listed folder a file belongs to, and that folder's floor; null outside scripts/. */
export function floorOf(file: string): { folder: string; floor: number } | null {
  let best: { folder: string; floor: number } | null = null;
  FLOORS.forEach((folders, floor) => {
    for (const folder of folders) {
      if (file.startsWith(`${folder}/`) && (best === null || folder.length > best.folder.length)) best = { folder, floor };
    }
  });
  return best;
}

/** One line per import that breaks a rule; empty when the tree keeps them all. */
export function layerViolations(imports: readonly Import[]): string[] {
  const out: string[] = [];
  for (const { from, to } of imports) {
    if (SERVICES.some((s) => from.startsWith(s)) && to.startsWith('scripts/')) {
      out.push(`${from} imports ${to}: the services never import the harness (it starts them as programs)`);
      continue;
    }
    if (PRODUCT.some((p) => from.startsWith(p)) && to.startsWith('test/')) {
      out.push(`${from} imports ${to}: product code never imports tests or their support`);
      continue;
    }
    const a = floorOf(from);
    const b = floorOf(to);
    if (a === null || b === null || a.folder === b.folder) continue;
    if (b.floor > a.floor) out.push(`${from} imports ${to}: ${a.folder} (floor ${a.floor}) may not import ${b.folder} (floor ${b.floor}, above it)`);
    else if (b.floor === a.floor) out.push(`${from} imports ${to}: ${a.folder} and ${b.folder} share floor ${a.floor}, and folders of one floor do not import each other`);
  }
  return out;
}

/** Every import cycle among files, as the list of files round it (each cycle once). */
export function importCycles(imports: readonly Import[]): string[][] {
  const edges = new Map<string, string[]>();
  for (const { from, to } of imports) edges.set(from, [...(edges.get(from) ?? []), to]);
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of edges.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push(stack.slice(stack.indexOf(next)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...edges.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : tsFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every relative import (static, dynamic, re-export, type-only) of the .ts files under the given folders of the repository. */
export function readImports(repo: string, folders: readonly string[]): Import[] {
  const out: Import[] = [];
  for (const file of folders.flatMap((f) => tsFiles(join(repo, f)))) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = resolve(dirname(file), fileName).replace(/\.js$/, '.ts');
      out.push({ from: relative(repo, file).split('\\').join('/'), to: relative(repo, target).split('\\').join('/') });
    }
  }
  return out;
}
