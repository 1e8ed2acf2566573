// The router, wired and run: the backends (discovery, dynamic config, the
// engine watch), the forwarder that takes requests to them, and the HTTP
// front that accepts requests; started together, and stopped by draining
// (in-flight requests finish up to --drain-timeout).
import type { Server } from 'node:http';
import { Backends } from './backends/backends.js';
import type { DynamicConfig } from './backends/dynamic-config.js';
import type { DiscoverySource } from './discovery/index.js';
import { runDisaggregated } from './forward/disaggregated-request.js';
import { Forwarder } from './forward/forwarder.js';
import { RouterMetrics } from './forward/metrics.js';
import { ProxiedRequest } from './forward/proxied-request.js';
import { HttpFront } from './front/http-front.js';
import { Logger } from './logger.js';
import type { RouterOptions } from './options.js';

export class RouterServer {
  readonly server: Server;
  readonly log: Logger;
  private readonly backends: Backends;
  private readonly forwarder: Forwarder;
  private readonly front: HttpFront;

  /** `discovery`: the source of the engines, when loaded beforehand (loadDiscovery: Kubernetes); static by default. */
  constructor(readonly options: RouterOptions, discovery?: DiscoverySource) {
    this.log = new Logger(options.logFormat, options.logLevel);
    this.backends = new Backends(options, this.log, discovery);
    this.forwarder = new Forwarder(options, this.backends, new RouterMetrics(this.backends.endpoints), this.log, {
      proxy: (forwarder, res, spec) => new ProxiedRequest(forwarder, res, spec).start(),
      split: runDisaggregated,
    });
    this.backends.follow((backends) => this.forwarder.replaceBackends(backends));
    this.front = new HttpFront(options, this.backends, this.forwarder, this.log);
    this.server = this.front.server;
  }

  /** Applies a dynamic config without dropping in-flight requests. */
  applyConfig(c: DynamicConfig): void {
    this.backends.applyConfig(c);
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        const a = this.server.address();
        this.backends.startWatch();
        this.forwarder.startDeadlines();
        this.front.startDeadlines();
        resolve(typeof a === 'object' && a ? a.port : this.options.port);
      });
    });
  }

  /** Stops accepting, lets in-flight requests finish up to the bound, then closes everything. */
  close(timeoutMs = this.options.drainTimeout * 1000): Promise<void> {
    this.front.drain();
    this.backends.stop();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.front.closeAllConnections(), timeoutMs);
      timer.unref();
      this.server.close(() => {
        clearTimeout(timer);
        this.front.stopDeadlines();
        this.forwarder.close().then(() => resolve());
      });
      this.front.closeIdleConnections();
    });
  }
}
