// Runs the simulator from command-line arguments until SIGTERM/SIGINT: what
// both entry points (vllm-engine-sim, and the `vllm serve`-compatible one) do.
import { parseOptions, USAGE } from './options.js';
import { SimServer } from './server.js';

export async function runSim(argv: string[]): Promise<void> {
  let options;
  try {
    options = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const server = new SimServer(options);
  try {
    const port = await server.listen();
    process.stdout.write(`vllm-engine-sim listening on http://${options.host}:${port} instance=${server.instanceId} model=${options.servedModelNames.join(',')}${server.engine.pd ? ` kv-role=${options.kvRole}${server.engine.pd.port === null ? '' : ` kv-port=${server.engine.pd.port}`}` : ''}\n`);
  } catch (err) {
    process.stderr.write(`error: cannot listen on ${options.host}:${options.port}: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping (in-flight requests get up to ${options.shutdownTimeout} ms)\n`);
    server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
