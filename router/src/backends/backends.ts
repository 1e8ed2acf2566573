// The engines behind the router: where they come from (a discovery source, or
// a dynamic config under static discovery), the one endpoint set they make,
// the watch that reads their load, models and health, and the routing policy
// a dynamic config may change.
import { createDiscovery, type BackendSpec, type DiscoverySource } from '../discovery/index.js';
import type { Logger } from '../logger.js';
import type { RouterOptions } from '../options.js';
import { RoutingPolicy } from '../routing/routing-policy.js';
import type { DynamicConfig } from './dynamic-config.js';
import { EndpointSet, type Endpoint, type ModelCard } from './endpoints.js';
import { EngineWatch } from './engine-watch.js';

export class Backends {
  readonly endpoints: EndpointSet;
  readonly discovery: DiscoverySource;
  readonly policy: RoutingPolicy;
  /** The header that authenticates the router to the engines (--engine-api-key); empty without one. */
  readonly engineAuth: Record<string, string>;
  private readonly watch: EngineWatch;
  /** Where every change of the engines goes: set by follow(), so that what must follow the endpoint set (the forwarder's pools) does. */
  private replace: (backends: BackendSpec[]) => void = (backends) => this.replaceEndpoints(backends);
  private watching = false;

  /** `discovery`: the source of the engines, when loaded beforehand (loadDiscovery: Kubernetes); static by default. */
  constructor(private readonly options: RouterOptions, private readonly log: Logger, discovery?: DiscoverySource) {
    this.endpoints = new EndpointSet(options.requestStatsWindow);
    this.policy = new RoutingPolicy({ routingLogic: options.routingLogic, prefixMinMatchLength: options.prefixMinMatchLength, sessionKey: options.sessionKey, aliases: options.staticAliases },
      options.prefixLoadWeight, options.pdLabels.prefill.length > 0);
    this.engineAuth = options.engineApiKey ? { authorization: `Bearer ${options.engineApiKey}` } : {};
    this.watch = new EngineWatch(this.endpoints, this.engineAuth, (level, m) => log.log(level, m), {
      active: options.staticBackendHealthChecks,
      intervalMs: options.staticBackendHealthCheckInterval * 1000,
      timeoutMs: options.staticBackendHealthCheckTimeout * 1000,
    });
    this.discovery = discovery ?? createDiscovery(options);
  }

  /** Starts discovery; the backends it finds, and those of a dynamic config, go to `replace`. */
  follow(replace: (backends: BackendSpec[]) => void): void {
    this.replace = replace;
    this.discovery.start(replace, (level, message, fields) => this.log.log(level, message, fields));
  }

  /** Makes the endpoint set exactly these backends; returns the URLs of the endpoints removed. */
  replaceEndpoints(backends: BackendSpec[]): string[] {
    const { added, removed } = this.endpoints.replace(backends);
    if (removed.length > 0) this.policy.algorithm.retain?.(new Set(this.endpoints.all().map((e) => e.url)));
    // A newcomer's load and model objects are read now, not at the next scrape.
    if (this.watching) for (const e of added) void this.watch.scrape(e);
    return removed;
  }

  /** Applies a dynamic config without dropping in-flight requests. */
  applyConfig(c: DynamicConfig): void {
    const before = this.endpoints.all().map((e) => e.url).join(',');
    // Under Kubernetes discovery the pods decide the engines: a file's list would be overwritten at the next event.
    if (c.backends && this.options.serviceDiscovery !== 'static') this.log.log('error', `dynamic config: static_backends ignored, because --service-discovery ${this.options.serviceDiscovery} finds the engines; the file's other settings apply`);
    else if (c.backends) this.replace(c.backends);
    const changes: string[] = [];
    const after = this.endpoints.all().map((e) => e.url).join(',');
    if (before !== after) changes.push(`backends ${after || '(none)'}`);
    changes.push(...this.policy.update(c, (m) => this.log.log('warn', m)));
    if (changes.length > 0) this.log.log('info', `dynamic config applied: ${changes.join('; ')}`);
  }

  /** A load or unload through this router succeeded: the engine's adapters change now, and its models are read again. */
  adapterChanged(endpoint: Endpoint, path: string, payload: Buffer | null): void {
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(payload?.toString('utf8') ?? '{}') as Record<string, unknown>;
    } catch {
      // The engine accepted it; the re-read below says what changed.
    }
    const name = typeof body.lora_name === 'string' ? body.lora_name : '';
    if (name !== '' && path.startsWith('/v1/load_lora_adapter')) {
      endpoint.lora.loaded(name, endpoint.models[0] ?? '');
      this.endpoints.adaptersSeen.add(name);
    } else if (name !== '') {
      endpoint.lora.unloaded(name);
      endpoint.models = endpoint.models.filter((m) => m !== name);
    }
    void this.watch.scrape(endpoint);
  }

  /** The model objects of /v1/models: the engines' own (root, parent, max_model_len, …) where they have sent them, one per id. */
  modelCards(): ModelCard[] {
    const created = Math.floor(Date.now() / 1000);
    const byId = new Map<string, ModelCard>();
    for (const e of this.endpoints.all()) {
      for (const m of e.models) {
        if (!byId.has(m)) byId.set(m, e.cards?.get(m) ?? { id: m, object: 'model', created, owned_by: 'vllm', root: null, parent: null });
      }
      // Each adapter once, with its parent, however many engines hold it.
      for (const [m, parent] of e.lora.served) {
        if (!byId.has(m)) byId.set(m, e.cards?.get(m) ?? { id: m, object: 'model', created, owned_by: 'vllm', root: null, parent });
      }
    }
    for (const [alias, target] of Object.entries(this.policy.aliases)) {
      const card = byId.get(target);
      if (card && !byId.has(alias)) byId.set(alias, { ...card, id: alias });
    }
    return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The engines are scraped every --engine-stats-interval (and newcomers at once) from now on. */
  startWatch(): void {
    this.watching = true;
    this.watch.start(this.options.engineStatsInterval);
  }

  stop(): void {
    this.watch.stop();
    this.discovery.stop();
  }
}
