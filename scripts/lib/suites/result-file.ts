// A suite's result is validated against schemas/suite-result.schema.json
// before it is written, and written atomically: a reader finds a whole,
// valid file or none.
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { writeJsonAtomic } from '../atomic-write.js';
import { SUITE_NAMES, type SuiteResult } from './types.js';

export const SUITE_SCHEMA_FILE = fileURLToPath(new URL('../../../../schemas/suite-result.schema.json', import.meta.url));

let validator: ValidateFunction | null = null;

function validate(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: true, formats: { 'date-time': true } });
    validator = ajv.compile(JSON.parse(readFileSync(SUITE_SCHEMA_FILE, 'utf8')) as object);
  }
  return validator;
}

/** Problems of a suite result against the schema, one line each (none: valid). */
export function suiteResultProblems(result: unknown): string[] {
  const v = validate();
  if (v(result)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

export function suiteResultPath(runDir: string, suite: string): string {
  return join(runDir, 'suites', `${suite}.json`);
}

export async function writeSuiteResult(runDir: string, result: SuiteResult): Promise<string> {
  const problems = suiteResultProblems(result);
  if (problems.length > 0) throw new Error(`the ${result.suite} suite produced a result that does not match schemas/suite-result.schema.json (a bug in the suite): ${problems.join('; ')}`);
  const path = suiteResultPath(runDir, result.suite);
  await writeJsonAtomic(path, result);
  return path;
}

/** The suite results of a node's results folder (results/<run-id>/<node>), in suite order. */
export async function readSuiteResults(nodeDir: string): Promise<{ results: SuiteResult[]; files: Record<string, string> }> {
  const dir = join(nodeDir, 'suites');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((f) => f.endsWith('.json'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { results: [], files: {} };
    throw err;
  }
  const order = (f: string) => (SUITE_NAMES as readonly string[]).indexOf(f.replace(/\.json$/, ''));
  const results: SuiteResult[] = [];
  const files: Record<string, string> = {};
  for (const f of names.sort((a, b) => order(a) - order(b))) {
    const path = join(dir, f);
    const result = JSON.parse(await readFile(path, 'utf8')) as SuiteResult;
    results.push(result);
    files[result.suite] = path;
  }
  return { results, files };
}
