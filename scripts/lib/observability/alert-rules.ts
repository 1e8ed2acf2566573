// The alert rules a deployment loads: observability/alerts.yml with the
// thresholds the configuration sets. The shipped file stays the one source a
// user reads and promtool tests; its thresholds are the Kconfig defaults, and
// a deployment rewrites only the number each tunable alert compares with (and
// the `threshold` annotation that shows it), so the two cannot drift apart.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isMap, parseDocument, type Document } from 'yaml';
import type { AlertThresholds } from '../vocabulary/node-plan.js';

export const ALERT_RULES_FILE = fileURLToPath(new URL('../../../../observability/alerts.yml', import.meta.url));

interface Tunable {
  symbol: string;
  /** The value the rule compares with, in the units of its expression (ratios, seconds). */
  ruleValue: (t: AlertThresholds) => number;
}

// Each alert whose threshold a user tunes, with the option that sets it.
export const TUNABLE_ALERTS: Record<string, Tunable> = {
  VLLMErrorRateHigh: { symbol: 'CONFIG_VLLM_ALERT_ERROR_RATE_PCT', ruleValue: (t) => t.errorRatePct / 100 },
  VLLMTimeToFirstTokenHigh: { symbol: 'CONFIG_VLLM_ALERT_TTFT_P95_MS', ruleValue: (t) => t.ttftP95Ms / 1000 },
  VLLMKVCacheSaturated: { symbol: 'CONFIG_VLLM_ALERT_KV_CACHE_USAGE_PCT', ruleValue: (t) => t.kvCacheUsagePct / 100 },
  VLLMRequestsQueueing: { symbol: 'CONFIG_VLLM_ALERT_QUEUE_DEPTH', ruleValue: (t) => t.queueDepth },
};

// A tunable rule ends in one comparison with a number: `... > 0.05`.
const TRAILING_THRESHOLD = /(>=?|<=?)\s*(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)\s*$/;

/** Shortest decimal text of a threshold, free of binary rounding noise (0.07, not 0.07000000000000001). */
function formatNumber(n: number): string {
  return String(Number(n.toPrecision(12)));
}

interface RuleNode { alert: string; expr: string; set(path: string[], value: string): void }

function rules(doc: Document): RuleNode[] {
  const out: RuleNode[] = [];
  const groups = doc.get('groups');
  if (!groups || !('items' in (groups as object))) throw new Error('the alert rules file has no `groups` list');
  for (const group of (groups as { items: unknown[] }).items) {
    if (!isMap(group)) continue;
    const list = group.get('rules') as { items?: unknown[] } | undefined;
    for (const rule of list?.items ?? []) {
      if (!isMap(rule) || !rule.has('alert')) continue;
      out.push({
        alert: String(rule.get('alert')),
        expr: String(rule.get('expr')),
        set: (path, value) => rule.setIn(path, doc.createNode(value)),
      });
    }
  }
  return out;
}

/** The rules file with these thresholds; throws when a tunable alert is missing or no longer ends in a comparison. */
export function deployedAlertRules(shipped: string, thresholds: AlertThresholds): string {
  const doc = parseDocument(shipped);
  if (doc.errors.length > 0) throw new Error(`the alert rules file is not valid YAML: ${doc.errors[0]?.message}`);
  const found = rules(doc);
  for (const [alert, tunable] of Object.entries(TUNABLE_ALERTS)) {
    const rule = found.find((r) => r.alert === alert);
    if (!rule) throw new Error(`the alert rules file has no ${alert}, whose threshold ${tunable.symbol} sets`);
    const match = TRAILING_THRESHOLD.exec(rule.expr);
    if (!match) throw new Error(`${alert}'s expression must end in a comparison with a number for ${tunable.symbol} to set it: ${rule.expr}`);
    const value = formatNumber(tunable.ruleValue(thresholds));
    rule.set(['expr'], `${rule.expr.slice(0, match.index)}${match[1]} ${value}`);
    rule.set(['annotations', 'threshold'], value);
  }
  return doc.toString({ lineWidth: 0 });
}

/** The threshold each tunable alert of a rules file uses, by alert name (what a test compares with the Kconfig defaults). */
export function ruleThresholds(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const rule of rules(parseDocument(text))) {
    const match = TRAILING_THRESHOLD.exec(rule.expr);
    if (rule.alert in TUNABLE_ALERTS && match) out[rule.alert] = Number(match[2]);
  }
  return out;
}

export async function readShippedAlertRules(): Promise<string> {
  return readFile(ALERT_RULES_FILE, 'utf8');
}
