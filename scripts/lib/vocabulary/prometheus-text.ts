// The Prometheus text exposition format, read into samples: enough for the
// pages vLLM, LMCache, the simulator and the routers serve (names, labels with
// escapes, values including NaN and ±Inf; comments and timestamps skipped).
// The harness's one reader of /metrics pages.

export interface TextSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ReadOptions {
  /**
   * 'throw' (the default): an unreadable line is an error naming it.
   * 'skip': it is left out, for pages read from live engines mid-run, where
   * one odd line must not cost the counters of every other.
   */
  unreadable?: 'throw' | 'skip';
}

const UNESCAPE: Record<string, string> = { '\\\\': '\\', '\\"': '"', '\\n': '\n' };

const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g;

function parseLabels(body: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const m of body.matchAll(LABEL)) labels[m[1] as string] = (m[2] as string).replace(/\\[\\"n]/g, (e) => UNESCAPE[e] as string);
  if (body.replace(LABEL, '').replace(/[\s,]/g, '') !== '') throw new Error(`unreadable labels in metrics line: ${line}`);
  return labels;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

function parseLine(line: string): TextSample {
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  let name: string;
  let labels: Record<string, string> = {};
  let rest: string;
  if (brace !== -1 && (space === -1 || brace < space)) {
    name = line.slice(0, brace);
    // The closing brace is the last one: label values may contain braces.
    const close = line.lastIndexOf('}');
    labels = parseLabels(line.slice(brace + 1, close), line);
    rest = line.slice(close + 1).trim();
  } else {
    name = line.slice(0, space);
    rest = line.slice(space + 1).trim();
  }
  const token = rest.split(/\s+/)[0] ?? '';
  const value = parseValue(token);
  if (name === '' || token === '' || (Number.isNaN(value) && token !== 'NaN')) throw new Error(`unreadable metrics line: ${line}`);
  return { name, labels, value };
}

export function parseMetricsText(text: string, opts: ReadOptions = {}): TextSample[] {
  const samples: TextSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      samples.push(parseLine(line));
    } catch (err) {
      if (opts.unreadable !== 'skip') throw err;
    }
  }
  return samples;
}

/**
 * The sum of a metric's finite samples across its label sets, under the
 * first of the names that has any (vLLM renamed some metrics: newer name
 * first); null when none has.
 */
export function sumSamples(samples: readonly TextSample[], names: readonly string[]): number | null {
  for (const name of names) {
    let total: number | null = null;
    for (const s of samples) if (s.name === name && Number.isFinite(s.value)) total = (total ?? 0) + s.value;
    if (total !== null) return total;
  }
  return null;
}

/** sumSamples of one page's text, its unreadable lines skipped. */
export function sumMetric(text: string, ...names: string[]): number | null {
  return sumSamples(parseMetricsText(text, { unreadable: 'skip' }), names);
}
