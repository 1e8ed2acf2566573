// Every query of a Grafana dashboard, its variables substituted with values
// that exist in a Prometheus, run there and judged: a query that returns
// nothing, or values its panel cannot show sensibly, is a finding.
import type { PromSample, PrometheusApi } from '../../scripts/lib/observability/prometheus-api.js';

export interface PanelQuery {
  dashboard: string;
  panel: string;
  unit: string;
  min: number | undefined;
  max: number | undefined;
  refId: string;
  legend: string;
  expr: string;
}

interface Panel {
  type: string;
  title: string;
  panels?: Panel[];
  targets?: { expr?: string; refId: string; legendFormat?: string }[];
  fieldConfig?: { defaults?: { unit?: string; min?: number; max?: number } };
}

export interface Dashboard {
  title: string;
  panels: Panel[];
  templating?: { list: { name: string; type: string; query?: string | { query: string }; definition?: string }[] };
}

/** Every target of every panel, rows' nested panels included. */
export function panelQueries(file: string, dashboard: Dashboard): PanelQuery[] {
  const out: PanelQuery[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      if (p.panels) walk(p.panels);
      for (const t of p.targets ?? []) {
        if (t.expr === undefined) throw new Error(`${file}: panel "${p.title}" target ${t.refId} has no expr`);
        const d = p.fieldConfig?.defaults ?? {};
        out.push({ dashboard: file, panel: p.title, unit: d.unit ?? '', min: d.min, max: d.max, refId: t.refId, legend: t.legendFormat ?? '', expr: t.expr });
      }
    }
  };
  walk(dashboard.panels);
  return out;
}

/** Grafana's variable syntaxes: $name, ${name}, ${name:format} and [[name]]. */
export function substitute(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (_whole, a: string | undefined, b: string | undefined, c: string | undefined) => {
    const name = (a ?? b ?? c) as string;
    const value = values[name];
    if (value === undefined) throw new Error(`no value for the variable $${name} in: ${expr}`);
    return value;
  });
}

/**
 * A value for each query variable, in the dashboard's order (later ones may
 * use earlier ones): the first value Prometheus has for its label_values().
 */
export async function variableValues(dashboard: Dashboard, api: PrometheusApi, builtins: Record<string, string>): Promise<Record<string, string>> {
  const values: Record<string, string> = { ...builtins };
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : v.query?.query ?? v.definition ?? '';
    const m = /^label_values\((.+),\s*(\w+)\)$/.exec(query.trim());
    if (!m) throw new Error(`variable $${v.name}: only label_values(selector, label) queries are supported here, got: ${query}`);
    const found = await api.labelValues(m[2] as string, substitute(m[1] as string, values));
    if (found.length === 0) throw new Error(`variable $${v.name}: Prometheus has no value for ${query}`);
    values[v.name] = found[0] as string;
  }
  return values;
}

/** Checks a query's result may set beyond "some data, finite, within the panel's min and max". */
export type Expectation = (samples: PromSample[]) => string | null;

/** What is wrong with a panel query's result, or null when it is plausible. */
export function judge(q: PanelQuery, samples: PromSample[], extra?: Expectation): string | null {
  if (samples.length === 0) return 'returns no data';
  const bad = samples.find((s) => !Number.isFinite(s.value));
  if (bad) return `returns ${bad.value} for ${JSON.stringify(bad.labels)}`;
  const low = samples.find((s) => q.min !== undefined && s.value < q.min);
  if (low) return `returns ${low.value}, below the panel's min ${q.min}, for ${JSON.stringify(low.labels)}`;
  const high = samples.find((s) => q.max !== undefined && s.value > q.max);
  if (high) return `returns ${high.value}, above the panel's max ${q.max}, for ${JSON.stringify(high.labels)}`;
  // Latencies are never zero: a zero quantile means the histogram's buckets are wrong.
  if (q.unit === 's') {
    const zero = samples.find((s) => s.value <= 0);
    if (zero) return `returns a latency of ${zero.value} s for ${JSON.stringify(zero.labels)}`;
  }
  return extra ? extra(samples) : null;
}

export interface Finding {
  query: PanelQuery;
  expr: string;
  problem: string;
}

/** Runs every query at one instant and returns what is wrong with each (none when all are plausible). */
export async function checkPanelQueries(
  queries: PanelQuery[], api: PrometheusApi, values: Record<string, string>, expectations: Record<string, Expectation> = {},
): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const q of queries) {
    const expr = substitute(q.expr, values);
    let problem: string | null;
    try {
      problem = judge(q, await api.query(expr), expectations[q.panel]);
    } catch (err) {
      problem = (err as Error).message;
    }
    if (problem) findings.push({ query: q, expr, problem });
  }
  return findings;
}

export function formatFindings(findings: Finding[]): string {
  return findings.map((f) => `${f.query.dashboard}: "${f.query.panel}" ${f.query.refId} (${f.query.legend}) ${f.problem}\n    ${f.expr}`).join('\n');
}
