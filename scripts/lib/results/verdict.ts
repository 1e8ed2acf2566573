// A run's verdict from the step records its nodes wrote: one failed step
// fails the run; a node that recorded no step leaves it incomplete.
import type { LostNode } from './lost-node.js';

/** interrupted: the command was stopped (Ctrl-C, kill); the run holds what it collected until then. */
export type Verdict = 'pass' | 'fail' | 'incomplete' | 'interrupted';

export interface StepRecord {
  step: string;
  passed: boolean;
  startedAt: string;
  finishedAt: string;
  /** What went wrong, for a failed step. */
  error?: string;
}

export interface NodeSummary {
  verdict: Verdict;
  steps: Record<string, 'pass' | 'fail'>;
  /** Set when the node was lost mid-run (unreachable) and its results never came home. */
  lost?: LostNode;
}

export function nodeVerdict(steps: StepRecord[]): NodeSummary {
  const summary: NodeSummary = { verdict: steps.length === 0 ? 'incomplete' : 'pass', steps: {} };
  for (const s of steps) {
    summary.steps[s.step] = s.passed ? 'pass' : 'fail';
    if (!s.passed) summary.verdict = 'fail';
  }
  return summary;
}

export function runVerdict(expectedNodes: string[], nodes: Record<string, NodeSummary>): Verdict {
  const verdicts = expectedNodes.map((n) => nodes[n]?.verdict ?? 'incomplete');
  if (verdicts.includes('fail')) return 'fail';
  if (verdicts.includes('incomplete')) return 'incomplete';
  return 'pass';
}
