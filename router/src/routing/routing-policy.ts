// How requests are routed now: the routing logic and its algorithm, the
// session key and the model aliases. They start as the flags say; a dynamic
// config changes them between requests, never during one.
import { isDisaggregated } from './disaggregated-prefill.js';
import { createAlgorithm, type RoutingLogic } from './index.js';
import type { RoutingAlgorithm } from './types.js';

export interface RoutingSettings {
  routingLogic: RoutingLogic;
  prefixMinMatchLength: number;
  sessionKey: string;
  aliases: Record<string, string>;
}

/** What a dynamic config may change; null (or absent) keeps the current value. */
export type RoutingChange = { [K in keyof RoutingSettings]?: RoutingSettings[K] | null };

export class RoutingPolicy {
  logic: RoutingLogic;
  prefixMinMatchLength: number;
  algorithm: RoutingAlgorithm;
  sessionKey: string;
  /** The session key as a header name, lower-cased once rather than per request. */
  sessionHeader: string;
  aliases: Record<string, string>;

  /** `disaggregatedReady`: the router has its prefill and decode pools (the labels flags), so a disaggregated logic may be chosen. */
  constructor(settings: RoutingSettings, private readonly prefixLoadWeight: number, private readonly disaggregatedReady: boolean) {
    this.logic = settings.routingLogic;
    this.prefixMinMatchLength = settings.prefixMinMatchLength;
    this.algorithm = createAlgorithm(settings.routingLogic, settings.prefixMinMatchLength, prefixLoadWeight);
    this.sessionKey = settings.sessionKey;
    this.sessionHeader = settings.sessionKey.toLowerCase();
    this.aliases = settings.aliases;
  }

  /** Applies a change; returns what changed, in words for the log, and warns of what it refused. */
  update(change: RoutingChange, warn: (message: string) => void): string[] {
    const changes: string[] = [];
    let logic = change.routingLogic ?? this.logic;
    if (isDisaggregated(logic) && !this.disaggregatedReady) {
      warn(`dynamic config: routing ${logic} needs the router started with --prefill-model-labels and --decode-model-labels; keeping ${this.logic}`);
      logic = this.logic;
    }
    const minMatch = change.prefixMinMatchLength ?? this.prefixMinMatchLength;
    if (logic !== this.logic || minMatch !== this.prefixMinMatchLength) {
      this.logic = logic;
      this.prefixMinMatchLength = minMatch;
      this.algorithm = createAlgorithm(logic, minMatch, this.prefixLoadWeight);
      changes.push(`routing ${logic} (prefix min match ${minMatch})`);
    }
    if (change.sessionKey && change.sessionKey !== this.sessionKey) {
      this.sessionKey = change.sessionKey;
      this.sessionHeader = change.sessionKey.toLowerCase();
      changes.push(`session key ${change.sessionKey}`);
    }
    if (change.aliases) this.aliases = change.aliases;
    return changes;
  }
}
