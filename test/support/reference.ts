// shared/reference (third-party ground truth) lies beside the project's
// checkout: next to it in CI and in /work/main, one level further up for a
// worktree under /work/wt/NAME.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO } from './temp-project.js';

export function referenceDir(): string | null {
  for (let dir = dirname(REPO.replace(/\/$/, '')), i = 0; i < 3; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'shared', 'reference');
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** The production-stack chart vllm-stack 0.1.12, as published. */
export function referenceChartDir(): string | null {
  const ref = referenceDir();
  return ref && existsSync(join(ref, 'vllm-stack-0.1.12', 'Chart.yaml')) ? join(ref, 'vllm-stack-0.1.12') : null;
}
