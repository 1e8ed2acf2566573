// The router's floors, held: a file imports from its own floor or the ones
// below, never from above (router/README.md lists them in this order).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../router/src/', import.meta.url));

/** Top to bottom; a folder name ends with '/', anything else is a file directly in src/. */
const FLOORS: string[][] = [
  ['main.ts', 'index.ts', 'router-server.ts'],
  ['front/'],
  ['forward/'],
  ['backends/'],
  ['options.ts', 'production-stack-flags.ts', 'error-answer.ts'],
  ['discovery/', 'routing/', 'lora/', 'http1/'],
  ['errors.ts', 'logger.ts', 'deadlines.ts'],
];

/** The floor of a file (path relative to src/, '/'-separated); -1 when no floor names it. */
function floorOf(file: string, floors: string[][]): number {
  const slash = file.indexOf('/');
  const key = slash < 0 ? file : file.slice(0, slash + 1);
  return floors.findIndex((floor) => floor.includes(key));
}

/** The relative modules a file's source imports (static, type-only and dynamic imports, and re-exports). */
function importsOf(source: string): string[] {
  return [...source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1] as string);
}

/** Every import that goes up a floor, or into or out of a file no floor names, as "file -> imported". */
function layerViolations(sources: Map<string, string>, floors: string[][]): string[] {
  const found: string[] = [];
  for (const [file, source] of sources) {
    const from = floorOf(file, floors);
    if (from < 0) found.push(`${file}: on no floor`);
    for (const spec of importsOf(source)) {
      const target = posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts');
      const to = floorOf(target, floors);
      if (to < 0 || to < from) found.push(`${file} -> ${target}`);
    }
  }
  return found;
}

function sourcesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) out.set(relative(dir, p).split('\\').join('/'), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

test('no file of the router imports from a floor above its own', () => {
  const sources = sourcesUnder(SRC);
  assert.ok(sources.size > 40, `read ${sources.size} files from ${SRC}`);
  assert.deepEqual(layerViolations(sources, FLOORS), []);
});

test('the floor check reports an import that goes up, and a file on no floor', () => {
  const sources = new Map([
    ['backends/endpoints.ts', "import type { Forwarder } from '../forward/forwarder.js';\nimport { errors } from '../errors.js';"],
    ['routing/policy.ts', "export { x } from '../front/routes.js';"],
    ['http1/pool.ts', "const m = await import('../backends/backends.js');"],
    ['front/http-front.ts', "import { Forwarder } from '../forward/forwarder.js';\nimport type { X } from './routes.js';"],
    ['stray.ts', ''],
  ]);
  assert.deepEqual(layerViolations(sources, FLOORS), [
    'backends/endpoints.ts -> forward/forwarder.ts',
    'routing/policy.ts -> front/routes.ts',
    'http1/pool.ts -> backends/backends.ts',
    'stray.ts: on no floor',
  ]);
});
