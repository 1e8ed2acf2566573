// Result files are checked against their JSON Schemas (schemas/) before they
// are written, so nothing malformed lands in results/.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';

export type ResultSchema = 'bench-result' | 'bench-sample' | 'compare';

const compiled = new Map<ResultSchema, ValidateFunction>();

export function schemaPath(name: ResultSchema): string {
  return fileURLToPath(new URL(`../../../../schemas/${name}.schema.json`, import.meta.url));
}

function validator(name: ResultSchema): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    v = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(schemaPath(name), 'utf8')) as object);
    compiled.set(name, v);
  }
  return v;
}

/** Throws, naming the file's schema and each problem, when value does not match it. */
export function assertValid(name: ResultSchema, value: unknown, what: string): void {
  const validate = validator(name);
  if (validate(value)) return;
  const problems = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
  throw new Error(`${what} does not match schemas/${name}.schema.json: ${problems.join('; ')}`);
}
