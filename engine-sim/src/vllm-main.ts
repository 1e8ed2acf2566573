#!/usr/bin/env node
// The simulator behind a `vllm` command: what the engine image runs when the
// production-stack chart starts `vllm serve MODEL --host 0.0.0.0 --port 8000 ...`.
import { runSim } from './run.js';
import { KvConfigError } from './pd/vllm-kv-config.js';
import { translateVllmArgs, VllmCliError } from './vllm-cli.js';

let translated;
try {
  translated = translateVllmArgs(process.argv.slice(2), process.env);
} catch (err) {
  if (!(err instanceof VllmCliError) && !(err instanceof KvConfigError)) throw err;
  process.stderr.write(`error: ${err.message}\n`);
  process.exit(2);
}
if (translated.ignored.length > 0) {
  process.stdout.write(`vllm (engine simulator): accepted without effect: ${translated.ignored.join(' ')}\n`);
}
await runSim(translated.simArgs);
