// The benchmark's client and workloads against real simulator processes on
// loopback: every token timed, usage read, failures told apart, sessions and
// growing histories for multi-round QA, Poisson pacing and a concurrency cap
// for serving.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runMultiRoundQa } from '../scripts/lib/bench/multi-round-qa.js';
import type { RequestSample } from '../scripts/lib/vocabulary/request-sample.js';
import { runServing } from '../scripts/lib/bench/serving.js';
import { StreamClient, type StreamRequest } from '../scripts/lib/bench/stream-client.js';
import type { WorkloadContext } from '../scripts/lib/bench/workload.js';
import { ENGINE_SIM_MAIN, startChildServer, type ChildServer } from './support/child-server.js';
import { until } from './support/loopback.js';

const MODEL = 'facebook/opt-125m';

async function sim(t: { after: (fn: () => Promise<void>) => void }, ...args: string[]): Promise<ChildServer> {
  const s = await startChildServer(ENGINE_SIM_MAIN, ['--port', '0', ...args]);
  t.after(() => s.stop());
  return s;
}

function client(t: { after: (fn: () => Promise<void>) => void }, url: string, timeoutMs = 10_000): StreamClient {
  const c = new StreamClient(url, { headersTimeoutMs: timeoutMs, bodyTimeoutMs: timeoutMs });
  t.after(() => c.close());
  return c;
}

const completion = (tokens: number): StreamRequest => ({
  path: '/v1/completions',
  body: JSON.stringify({ model: MODEL, prompt: 'tell me about the weather today', max_tokens: tokens, ignore_eos: true, stream: true, stream_options: { include_usage: true } }),
});

function context(c: StreamClient, seconds: number, samples: RequestSample[]): WorkloadContext {
  let next = 0;
  const t0 = performance.now();
  return {
    client: c, model: MODEL, t0, endAt: t0 + seconds * 1000, repeat: 1, seed: 7, sessionKey: 'x-user-id',
    nextId: () => ({ id: next++, warmup: false }), record: (s) => samples.push(s), lag: () => {},
  };
}

test('each content chunk is timed, token counts come from usage, and the engine that served is named', async (t) => {
  const s = await sim(t, '--inter-token-latency', '20', '--prefill-overhead', '30');
  const r = await client(t, s.url).send(completion(5));
  assert.equal(r.errorKind, null, r.error ?? '');
  assert.equal(r.status, 200);
  assert.ok(r.ttftMs !== null && r.ttftMs >= 25, `TTFT ${r.ttftMs} ms covers the 30 ms prefill`);
  assert.equal(r.itlMs.length, 4, 'four gaps between five tokens');
  // One late chunk makes its gap long and the next one short; their mean is the simulator's.
  const mean = r.itlMs.reduce((a, b) => a + b, 0) / 4;
  assert.ok(mean >= 18 && mean < 120, `mean gap ${mean} ms around the simulator's 20 ms`);
  assert.ok(Math.abs(r.e2elMs - (r.ttftMs + r.itlMs.reduce((a, b) => a + b, 0))) < 20);
  assert.equal(r.completionTokens, 5);
  assert.ok((r.promptTokens ?? 0) > 0);
  assert.equal(r.cachedTokens, 0);
  assert.match(r.engine ?? '', /^sim-\d+$/);
});

test('failures are told apart: an HTTP error, a broken stream, a refused connection, a timeout, a cancel', async (t) => {
  const failing = await sim(t, '--failure-rate', '1', '--failure-kinds', '503');
  const http = await client(t, failing.url).send(completion(4));
  assert.equal(http.errorKind, 'http_503');
  assert.match(http.error ?? '', /HTTP 503: injected failure/);

  const resetting = await sim(t, '--failure-rate', '1', '--failure-kinds', 'reset', '--inter-token-latency', '5');
  assert.equal((await client(t, resetting.url).send(completion(8))).errorKind, 'reset');

  const closed = await sim(t);
  const url = closed.url;
  await closed.stop();
  assert.equal((await client(t, url).send(completion(4))).errorKind, 'connect');

  // A token every 3 s; the test's client allows 1 s for headers and for each next chunk (undici
  // keeps these timers to about a second). On one engine a request stalls between tokens; on
  // another, which runs one request at a time, a request waits in the queue for its headers
  // behind one that a patient client keeps running until the benchmark cancels it.
  const stalling = await sim(t, '--inter-token-latency', '3000');
  const single = await sim(t, '--inter-token-latency', '3000', '--max-num-seqs', '1');
  const patient = client(t, single.url);
  const running = patient.send(completion(5));
  await until('the patient request running on the one-at-a-time engine', async () => /^vllm:num_requests_running\{[^}]*\} 1$/m.test(await (await fetch(`${single.url}/metrics`)).text()));
  assert.equal(patient.pending, 1);
  const [stalled, queued] = await Promise.all([client(t, stalling.url, 1000).send(completion(3)), client(t, single.url, 1000).send(completion(3))]);
  assert.equal(stalled.errorKind, 'timeout');
  assert.match(stalled.error ?? '', /BODY_TIMEOUT/);
  assert.equal(queued.errorKind, 'timeout');
  assert.match(queued.error ?? '', /HEADERS_TIMEOUT/);
  patient.cancelAll();
  assert.equal((await running).errorKind, 'cancelled');
  assert.equal(patient.pending, 0);
});

test('multi-round QA: users named by the session key, histories growing every round, cache hits after the first', async (t) => {
  const s = await sim(t, '--time-scale', '0');
  const samples: RequestSample[] = [];
  await runMultiRoundQa(context(client(t, s.url), 1, samples), { users: 3, rounds: 3, systemPromptLen: 64, historyLen: 64, answerLen: 8, qps: 0 });
  assert.ok(samples.length >= 9, `${samples.length} requests`);
  assert.ok(samples.every((x) => x.error_kind === null && x.completion_tokens === 8));
  const byUser = new Map<string, RequestSample[]>();
  for (const x of samples) byUser.set(x.user as string, [...(byUser.get(x.user as string) ?? []), x]);
  assert.ok(byUser.size > 3, 'finished users are replaced by new ones');
  for (const [user, rounds] of byUser) {
    rounds.sort((a, b) => (a.round as number) - (b.round as number));
    assert.deepEqual(rounds.map((x) => x.round), rounds.map((_, i) => i + 1), `${user} asks its rounds in order`);
    for (let i = 1; i < rounds.length; i++) {
      assert.ok((rounds[i]!.prompt_tokens as number) > (rounds[i - 1]!.prompt_tokens as number), `${user}: the history grows`);
      assert.ok((rounds[i]!.cached_tokens as number) >= (rounds[i - 1]!.prompt_tokens as number) - 32, `${user}: the previous round is a cache hit`);
    }
  }
});

test('serving: Poisson arrivals near the set rate, and never more in flight than the concurrency limit', async (t) => {
  const fast = await sim(t, '--time-scale', '0');
  const samples: RequestSample[] = [];
  await runServing(context(client(t, fast.url), 2, samples), { requestRate: 40, burstiness: 1, maxConcurrency: 0, inputLen: 16, outputLen: 4 });
  assert.ok(samples.length > 40 && samples.length < 130, `${samples.length} requests in 2 s at 40/s`);
  assert.equal(new Set(samples.map((x) => x.id)).size, samples.length);

  const slow = await sim(t, '--inter-token-latency', '50');
  const capped: RequestSample[] = [];
  await runServing(context(client(t, slow.url), 1, capped), { requestRate: 100, burstiness: 1, maxConcurrency: 2, inputLen: 8, outputLen: 4 });
  // The most requests in flight at any moment, from their send and end times.
  const events = capped.flatMap((x) => [[x.start_ms, 1], [x.start_ms + x.e2el_ms, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let inFlight = 0;
  let most = 0;
  for (const [, step] of events) most = Math.max(most, (inFlight += step));
  assert.equal(most, 2, 'two in flight at most, and two at times');
  assert.ok(capped.length >= 4);
});
