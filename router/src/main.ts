#!/usr/bin/env node
// vllm-router: an OpenAI-compatible router for vLLM engines.
import { startRouterWith, VERSION } from './index.js';
import { parseOptions, USAGE } from './options.js';

let options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (options === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (options === 'version') {
  process.stdout.write(`vllm-router ${VERSION}\n`);
  process.exit(0);
}
let router;
try {
  router = await startRouterWith(options);
} catch (err) {
  process.stderr.write(`error: cannot start the router on ${options.host}:${options.port}: ${(err as Error).message}\n`);
  process.exit(1);
}
process.stdout.write(`vllm-router listening on http://${options.host}:${router.port} routing=${options.routingLogic}\n`);
let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`${signal}: draining in-flight requests (up to ${options.drainTimeout} s)\n`);
  router.server.close().then(() => process.exit(0));
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
