// make vllm-compare's table: per workload and metric, both values, the change,
// its 95 % interval, the noise threshold and the verdict (coloured on a terminal).
import type { Comparison } from '../compare/comparison.js';
import type { MetricComparison } from '../compare/compare.js';
import type { MetricVerdict } from '../compare/verdict.js';

const COLOUR: Record<MetricVerdict, string> = { regression: '\x1b[31m', improvement: '\x1b[32m', 'no-change': '' };
const RESET = '\x1b[0m';

function value(x: number | null, unit: string): string {
  if (x === null) return '-';
  if (unit === '%') return `${x.toFixed(2)} %`;
  return `${Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2)} ${unit}`;
}

function signed(x: number | null, unit: string): string {
  return x === null ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(1)}${unit}`;
}

function row(m: MetricComparison): string[] {
  const u = m.unit === '%' ? ' pt' : ' %';
  const ci = m.ci_low_pct === null || m.ci_high_pct === null ? '-' : `[${signed(m.ci_low_pct, '')}, ${signed(m.ci_high_pct, '')}]${u}`;
  return [m.name, value(m.baseline, m.unit), value(m.dev, m.unit), signed(m.delta_pct, u), ci, `±${m.threshold_pct}${u}`, m.verdict];
}

export function formatComparison(c: Comparison, colour: boolean): string {
  const header = ['metric', 'baseline', 'dev', 'change', '95 % CI of the change', 'noise', 'verdict'];
  const lines = [`base ${c.base}  vs  dev ${c.dev}   (percentile bootstrap, ${c.method.resamples} resamples)`];
  for (const workload of c.workloads) {
    const metrics = c.metrics.filter((m) => m.workload === workload);
    const cells = [header, ...metrics.map(row)];
    const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] as string).length)));
    lines.push('', workload);
    cells.forEach((r, k) => {
      const text = r.map((cell, i) => (i === 0 || i === r.length - 1 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  ').trimEnd();
      const verdict = k === 0 ? 'no-change' : (metrics[k - 1] as MetricComparison).verdict;
      lines.push(`  ${colour && COLOUR[verdict] ? `${COLOUR[verdict]}${text}${RESET}` : text}`);
    });
  }
  for (const note of c.notes) lines.push(`note: ${note}`);
  const changed = c.metrics.filter((m) => m.verdict === c.verdict && c.verdict !== 'no-change').map((m) => `${c.workloads.length > 1 ? `${m.workload} ` : ''}${m.name}`);
  const verdict = `verdict: ${c.verdict}${changed.length > 0 ? ` (${changed.join(', ')})` : ''}`;
  lines.push('', colour && COLOUR[c.verdict] ? `${COLOUR[c.verdict]}${verdict}${RESET}` : verdict);
  return lines.join('\n');
}
