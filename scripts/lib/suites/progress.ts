// Live progress of a suite run: the node-side tool keeps a small JSON file
// in the node's work dir up to date (suite, case, elapsed, requests sent),
// and the controller's watcher prints it while Ansible waits for the node.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../atomic-write.js';

export interface ProgressState {
  node: string;
  pid: number;
  suite: string | null;
  case: string | null;
  /** Seconds since the case began. */
  elapsed_s: number;
  /** Requests sent since the run began. */
  requests: number;
  cases_done: number;
  cases_failed: number;
  done: boolean;
  updated_at: string;
}

export function progressFile(workDir: string): string {
  return join(workDir, 'suites-progress.json');
}

export class Progress {
  private suite: string | null = null;
  private caseName: string | null = null;
  private caseStart = performance.now();
  private requests = 0;
  private casesDone = 0;
  private casesFailed = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly node: string,
    /** null: nothing is written (tests). */
    private readonly file: string | null,
    /** One line per finished case. */
    private readonly print: (line: string) => void = () => {},
  ) {}

  start(): void {
    if (this.file === null || this.timer) return;
    this.timer = setInterval(() => this.flush(), 500);
    this.timer.unref();
    this.flush();
  }

  request(): void {
    this.requests++;
  }

  get sent(): number {
    return this.requests;
  }

  beginCase(suite: string, name: string): void {
    this.suite = suite;
    this.caseName = name;
    this.caseStart = performance.now();
    this.flush();
  }

  endCase(line: string, failed: boolean): void {
    this.casesDone++;
    if (failed) this.casesFailed++;
    this.print(line);
    this.flush();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush(true);
    await this.writing;
  }

  private state(done: boolean): ProgressState {
    return {
      node: this.node, pid: process.pid, suite: this.suite, case: this.caseName,
      elapsed_s: Math.round((performance.now() - this.caseStart) / 100) / 10,
      requests: this.requests, cases_done: this.casesDone, cases_failed: this.casesFailed,
      done, updated_at: new Date().toISOString(),
    };
  }

  private flush(done = false): void {
    const file = this.file;
    if (file === null) return;
    const state = this.state(done);
    // One write at a time, in order; a failed write only loses a progress line.
    this.writing = this.writing.then(() => writeJsonAtomic(file, state)).catch(() => {});
  }
}

export async function readProgress(workDir: string): Promise<ProgressState | null> {
  try {
    return JSON.parse(await readFile(progressFile(workDir), 'utf8')) as ProgressState;
  } catch {
    return null;
  }
}

export function formatProgress(p: ProgressState): string {
  if (p.done) return `${p.node}: suites done, ${p.cases_done} cases, ${p.cases_failed} failed, ${p.requests} requests`;
  const where = p.suite === null ? 'starting' : `${p.suite} › ${p.case ?? ''}`;
  // The watcher prints a line as a case starts, then every few seconds: "started" rather than a "0.0 s" that reads as the case's duration.
  const time = p.elapsed_s < 1 ? 'started' : `running ${p.elapsed_s.toFixed(0)} s`;
  return `${p.node}: ${where}  ${time}, ${p.requests} requests sent so far${p.cases_failed > 0 ? `  (${p.cases_failed} failed so far)` : ''}`;
}
