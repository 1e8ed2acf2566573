// make vllm-results in the terminal: per node, its newest run's steps, smoke
// test, suites and benchmark figures.
import type { NodeResults } from '../results/latest-per-node.js';
import { benchFigures } from './format-bench.js';

const MARK: Record<string, string> = { pass: '✅ ', passed: '✅ ', fail: '❌ ', failed: '❌ ', skipped: '⏭️  ' };
const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function formatNodeResults(r: NodeResults): string {
  const lines = [`${r.node}: run ${r.run_id}`];
  if (r.lost) lines.push(`  ❌ LOST: ${r.lost}`);
  lines.push(`  steps: ${r.steps.length === 0 ? 'none recorded' : r.steps.map((s) => `${s.step} ${s.passed ? 'pass' : 'FAIL'}`).join(', ')}`);
  for (const s of r.steps) if (!s.passed && s.error) lines.push(`    ${s.step}: ${s.error}`);
  if (r.smoke) lines.push(`  smoke: ${r.smoke.passed === true ? 'passed' : 'FAILED'}`);
  for (const suite of r.suites) {
    const failed = suite.cases.filter((c) => c.status === 'failed').length;
    lines.push(`  suite ${suite.suite}: ${MARK[suite.status] ?? ''}${suite.status} (${plural(suite.cases.length, 'case', 'cases')}${failed > 0 ? `, ${failed} failed` : ''}${suite.duration_s !== undefined ? `, ${suite.duration_s.toFixed(1)} s` : ''})`);
    for (const c of suite.cases) lines.push(`    ${MARK[c.status] ?? ''}${c.name}${c.summary ? `: ${c.summary}` : ''}${c.reason ? ` (${c.reason})` : ''}`);
  }
  for (const b of r.bench) lines.push(...benchFigures(b).map((l) => `  ${l}`));
  if (r.bench.length === 0) lines.push('  benchmark: none in this run (make vllm-benchmark)');
  return lines.join('\n');
}
