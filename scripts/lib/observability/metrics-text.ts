// The Prometheus text exposition format, read into samples: enough for the
// pages vLLM, LMCache and the routers serve (names, labels with escapes,
// values including NaN and ±Inf; comments and timestamps skipped).

export interface TextSample {
  name: string;
  labels: Record<string, string>;
  value: number;
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

export function parseMetricsText(text: string): TextSample[] {
  const samples: TextSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
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
    samples.push({ name, labels, value });
  }
  return samples;
}
