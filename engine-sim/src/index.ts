// The simulator as a library: start one in-process (tests, benchmarks), or
// use its pure parts (tokenizer, prefix cache, latency model).
import { DEFAULTS, type EngineSimOptions } from './options.js';
import { SimServer } from './server.js';

export { DEFAULTS, parseOptions, type EngineSimOptions } from './options.js';
export { tokenize, chatPrompt } from './tokenizer.js';
export { PrefixCache, blockHashes } from './prefix-cache.js';
export { loadMultiplier, prefillMs, interTokenMs, seededRandom, type LatencySettings } from './latency.js';
export { Scheduler, QueueFullError } from './scheduler.js';
export { SimServer } from './server.js';

export interface RunningSim {
  url: string;
  port: number;
  instanceId: string;
  server: SimServer;
  close(): Promise<void>;
}

export async function startEngineSim(options: Partial<EngineSimOptions> = {}): Promise<RunningSim> {
  const model = options.model ?? DEFAULTS.model;
  const full: EngineSimOptions = { ...DEFAULTS, port: 0, servedModelNames: [model], ...options };
  const server = new SimServer(full);
  const port = await server.listen();
  return { url: `http://${full.host}:${port}`, port, instanceId: server.instanceId, server, close: () => server.close(0) };
}
