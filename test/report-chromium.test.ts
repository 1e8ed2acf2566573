// The report as a reader sees it: report.html opened in headless Chromium
// (Debian's chromium), offline. It loads, every chart has drawn an <svg>, the
// console stays free of errors and the page fetches nothing.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { which } from 'zx';
import { launch } from 'puppeteer-core';
import { renderReport } from '../scripts/lib/report/report-html.js';
import { runBenchmarks, runComparison } from '../scripts/lib/results/run-benchmarks.js';
import { writeSyntheticRun } from './support/synthetic-run.js';

const THRESHOLDS = { ttft: 10, itl: 10, e2el: 10, tail: 25, throughput: 10, error_rate: 1 };

/** The flags the Debian chromium needs here: no sandbox (root), no GPU, nothing that calls home, its own profile. */
function chromiumArgs(profile: string): string[] {
  return ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`];
}

test('report.html loads in headless Chromium with every chart drawn as SVG, no console error and no fetch', { timeout: 120_000 }, async (t) => {
  const chromium = await which('chromium', { nothrow: true });
  if (!chromium) return t.skip('chromium is not installed (make deps installs Debian\'s chromium for this test)');
  const dir = await mkdtemp(join(tmpdir(), 'report-'));
  // after hooks run in the order they were added: the browser (added below) must be closed
  // before its profile in dir goes, or Chromium writes into a directory being removed.
  let browser: Awaited<ReturnType<typeof launch>> | undefined;
  t.after(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });
  const runId = await writeSyntheticRun(join(dir, 'results'), {
    'vllm-baseline': { seed: 1, users: 6, seconds: 15 },
    'vllm-dev': { seed: 2, users: 6, seconds: 15, ttftFactor: 1.3 },
  });
  const { run, workloads } = await runBenchmarks(join(dir, 'results'), runId);
  const compare = await runComparison(join(dir, 'results'), runId, workloads, THRESHOLDS);
  assert.equal(compare?.verdict, 'regression');
  const html = await renderReport({ run, workloads, compare });
  const file = join(dir, 'report.html');
  await writeFile(file, html);
  assert.doesNotMatch(html.replace(/http:\/\/www\.w3\.org\/[0-9]+\/(svg|xlink)/g, '').replace(/https:\/\/vega\.github\.io\/schema\/[^"]*/g, ''), /(src|href)="?https?:/, 'the page links nothing outside itself');

  browser = await launch({ executablePath: chromium, args: chromiumArgs(join(dir, 'profile')), headless: true });
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file://')) problems.push(`fetched ${r.url()}`);
  });
  page.on('requestfailed', (r) => problems.push(`failed ${r.url()}`));
  await page.setViewport({ width: 1100, height: 900 });
  const response = await page.goto(`file://${file}`, { waitUntil: 'load' });
  assert.ok(response?.ok() ?? true, 'the page loads');
  const charts = await page.$$eval('figure.chart', (figures) => figures.map((f) => ({
    id: f.id, svgs: f.querySelectorAll('svg').length, marks: f.querySelectorAll('svg path, svg rect, svg line').length,
  })));
  assert.ok(charts.length >= 8, `${charts.length} charts`);
  for (const c of charts) {
    assert.equal(c.svgs, 1, `${c.id} has drawn an <svg>`);
    assert.ok(c.marks > 5, `${c.id} has marks`);
  }
  assert.equal(await page.$$eval('table.compare .verdict.regression', (e) => e.length) > 0, true, 'a regression is shown coloured');
  // The charts use the page's width: two a row, each drawn across its column.
  const [a, b] = await page.$$eval('figure.chart', (figures) => figures.slice(0, 2).map((f) => {
    const r = f.getBoundingClientRect();
    return { top: r.top, left: r.left, right: r.right, width: r.width, svg: f.querySelector('svg')?.getBoundingClientRect().width ?? 0 };
  }));
  const layout = { page: await page.$eval('h2', (h) => h.getBoundingClientRect().width), a: a!, b: b!, svg: { width: a!.svg } };
  assert.equal(layout.a.top, layout.b.top, 'the first two charts share a row');
  assert.ok(layout.b.right - layout.a.left > 0.95 * layout.page, `the row spans the page (${layout.b.right - layout.a.left} of ${layout.page} px)`);
  assert.ok(layout.svg.width > 0.9 * layout.a.width, 'each chart fills its column');
  assert.ok(charts.some((c) => c.id.endsWith('-rounds')), 'multi-round QA has its TTFT by round');
  const shot = join(tmpdir(), 'vllm-report-screenshot.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok((await readFile(shot)).length > 10_000, `screenshot at ${shot}`);
  assert.deepEqual(problems, []);
});
