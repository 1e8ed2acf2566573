// What every command-line tool of the harness does the same way: flags,
// --help, and errors that reach the user as one clear line and exit 1.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type Flags = NonNullable<ParseArgsConfig['options']>;

export function parseCli<T extends Flags>(usage: string, options: T, argv = process.argv.slice(2)) {
  const config = { args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } } as T & { help: { type: 'boolean'; short: 'h' } }, allowPositionals: true, strict: true } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (err) {
    fail(`${(err as Error).message}\n\n${usage}`);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return parsed;
}

export function fail(message: string, exitCode = 1): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(exitCode);
}

/** An error whose tool exits with its own code (for example 3: tests ran and some failed). */
export class ExitError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

/** Runs a tool's main, turning any thrown error into one clear message. */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err), err instanceof ExitError ? err.exitCode : 1));
}
