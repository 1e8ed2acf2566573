// Suite results as the terminal shows them: one table per node (suite,
// case, status, measured, expectation), then the failed cases with their
// reasons and result files. Pure: results in, lines out.
import type { SuiteResult } from './types.js';

export interface NodeSuites {
  node: string;
  results: SuiteResult[];
  /** Where each suite's file is, by suite name, as the reader should open it. */
  files: Record<string, string>;
  /** Why the node failed when the run lost it mid-run: its results, suites included, never came. */
  lost?: string;
}

const MARK = { passed: '✅ passed', failed: '❌ failed', skipped: '⏭  skipped' } as const;

/** The text in lines of at most `width` characters, broken at spaces (a longer word stays whole): nothing is cut off. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.replace(/\s+/g, ' ').trim().split(' ')) {
    if (line !== '' && [...line].length + 1 + [...word].length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

export function formatNodeTable(n: NodeSuites, width = 160): string[] {
  if (n.lost) return [`${n.node}: ❌ FAILED, no suite result came home: ${n.lost}`];
  const rows = n.results.flatMap((r) => r.cases.map((c) => [r.suite, c.name, MARK[c.status], c.status === 'skipped' ? (c.reason ?? '') : c.summary, c.expectation]));
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const r of n.results) for (const c of r.cases) counts[c.status]++;
  const seconds = n.results.reduce((a, r) => a + r.duration_s, 0);
  const head = `${n.node}: ${n.results.length} suite(s), ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (${seconds.toFixed(1)} s)`;
  if (rows.length === 0) return [head];
  const header = ['suite', 'case', 'status', 'measured', 'expectation'];
  const fixed = [0, 1, 2].map((i) => Math.max(header[i]?.length ?? 0, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const rest = Math.max(40, width - fixed.reduce((a, b) => a + b + 2, 0) - 4);
  const measuredWidth = Math.min(48, Math.max(8, Math.floor(rest * 0.45)));
  const expectWidth = Math.max(20, rest - measuredWidth);
  // Measured and expectation wrap onto lines of their own columns rather than being cut.
  const line = (r: string[]): string[] => {
    const measured = wrap(r[3] ?? '', measuredWidth);
    const expectation = wrap(r[4] ?? '', expectWidth);
    return Array.from({ length: Math.max(measured.length, expectation.length) }, (_, i) => (i === 0
      ? `  ${pad(r[0] ?? '', fixed[0] as number)}  ${pad(r[1] ?? '', fixed[1] as number)}  ${pad(r[2] ?? '', fixed[2] as number)}  `
      : `  ${' '.repeat((fixed[0] as number) + (fixed[1] as number) + (fixed[2] as number) + 4)}  `)
      + `${pad(measured[i] ?? '', measuredWidth)}  ${expectation[i] ?? ''}`.trimEnd());
  };
  return [head, ...line(header), ...rows.flatMap(line)];
}

/** One line per failed case: node, suite › case, why, and the file with everything it measured. */
export function formatFailures(nodes: NodeSuites[]): string[] {
  const out: string[] = [];
  for (const n of nodes) {
    for (const r of n.results) {
      for (const c of r.cases.filter((x) => x.status === 'failed')) {
        out.push(`FAILED ${n.node} ${r.suite} › ${c.name}: ${c.reason ?? 'no reason given'}\n       see ${n.files[r.suite] ?? `suites/${r.suite}.json`}`);
      }
    }
  }
  return out;
}

export function anyFailed(nodes: NodeSuites[]): boolean {
  return nodes.some((n) => n.results.some((r) => r.status === 'failed'));
}
