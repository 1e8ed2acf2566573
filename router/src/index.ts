// The router as a library: start one in-process (tests, benchmarks), or use
// its routing algorithms and config parsing.
import { loadDiscovery } from './discovery/index.js';
import { parseOptions, type RouterOptions } from './options.js';
import { RouterServer } from './router-server.js';
import { watchDynamicConfig } from './backends/dynamic-config.js';

export { parseOptions, normalizeUrl, USAGE, type RouterOptions } from './options.js';
export { RouterServer } from './router-server.js';
export { VERSION } from './front/http-front.js';
export { parseDynamicConfig, watchDynamicConfig, type DynamicConfig } from './backends/dynamic-config.js';
export * from './routing/index.js';

export interface RunningRouter {
  url: string;
  port: number;
  server: RouterServer;
  close(): Promise<void>;
}

/** Starts a router from command-line style arguments (port defaults to any free one). */
export async function startRouter(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunningRouter> {
  const options = parseOptions(['--port', '0', ...args], env);
  if (options === 'help' || options === 'version') throw new Error(`--${options} is not a router to start`);
  return startRouterWith(options);
}

export async function startRouterWith(options: RouterOptions): Promise<RunningRouter> {
  const server = new RouterServer(options, await loadDiscovery(options));
  const stopWatch = options.dynamicConfigFile
    ? watchDynamicConfig(options.dynamicConfigFile, (c) => server.applyConfig(c), (m) => server.log.log('error', m))
    : () => undefined;
  const port = await server.listen();
  const host = options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  return {
    url: `http://${host}:${port}`, port, server,
    close: async () => {
      stopWatch();
      await server.close(0);
    },
  };
}
