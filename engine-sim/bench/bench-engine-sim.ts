// npm run bench:engine-sim — how fast the simulator answers when it adds no
// latency (--time-scale 0), so that it is never what limits a router
// benchmark: non-streaming requests/s (and per CPU-second of the simulator,
// its one-core capacity), streaming tokens/s, and memory over many distinct
// prompts (bounded by --kv-blocks, not by requests served).
// BENCH_SECONDS (default 5) per load run; BENCH_DISTINCT_REQUESTS (default 100000).
import { cleanUpOnSignal, cpuSeconds, load, rssMb, table } from '../../test/support/measure.js';
import { ENGINE_SIM_MAIN, startChildServer } from '../../test/support/child-server.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const DISTINCT = Number(process.env.BENCH_DISTINCT_REQUESTS ?? 100_000);
const MODEL = 'facebook/opt-125m';
const KV_BLOCKS = 4096;

async function main(): Promise<void> {
  const sim = await startChildServer(ENGINE_SIM_MAIN, ['--port', '0', '--time-scale', '0', '--kv-blocks', String(KV_BLOCKS)]);
  const pid = sim.child.pid!;
  cleanUpOnSignal(() => sim.stop());
  try {
    const small = { model: MODEL, prompt: 'hello world', max_tokens: 8 };
    await load({ url: `${sim.url}/v1/completions`, body: small, connections: 64, seconds: 1 });
    const rssWarm = await rssMb(pid);

    const cpu0 = await cpuSeconds(pid);
    const plain = await load({ url: `${sim.url}/v1/completions`, body: small, connections: 64, seconds: SECONDS });
    const perCpuSecond = plain.requests / (await cpuSeconds(pid) - cpu0);

    const tokens = 64;
    const streamBody = { model: MODEL, messages: [{ role: 'user', content: 'tell me a story' }], max_tokens: tokens, ignore_eos: true, stream: true };
    const streamed = await load({ url: `${sim.url}/v1/chat/completions`, body: streamBody, connections: 32, seconds: SECONDS });

    console.log(`vllm-engine-sim --time-scale 0 --kv-blocks ${KV_BLOCKS}, autocannon in this process, ${SECONDS} s per run`);
    console.log(table(['workload', 'req/s', 'tokens/s', 'p50 ms', 'p99 ms', 'failures'], [
      ['completions, 8 tokens, 64 conns', Math.round(plain.requestsPerSec), Math.round(plain.requestsPerSec * 8), plain.p50Ms, plain.p99Ms, plain.failures],
      [`chat streams, ${tokens} tokens, 32 conns`, Math.round(streamed.requestsPerSec), Math.round(streamed.requestsPerSec * tokens), streamed.p50Ms, streamed.p99Ms, streamed.failures],
    ]));
    console.log(`one-core capacity: ${Math.round(perCpuSecond)} small completions per CPU-second of the simulator (target ≥ 8,000)`);

    // Distinct ~150-token prompts fill the prefix cache (10 blocks each: 4,096 blocks hold ~400
    // prompts); memory must level off at its capacity: flat from the first quarter of the requests to the last.
    let sent = 0;
    const distinctBody = (n: number) => ({ model: MODEL, prompt: `request ${n}: ${'a distinct prompt that fills the prefix cache with new blocks '.repeat(12)}`, max_tokens: 4 });
    const phases: { after: number; rssMb: number; rps: number }[] = [];
    for (let quarter = 0; quarter < 4; quarter++) {
      const amount = Math.floor(DISTINCT / 4);
      const offset = sent;
      const run = await load({ url: `${sim.url}/v1/completions`, body: small, connections: 64, amount, bodyFor: (n) => distinctBody(offset + n) });
      sent += run.requests;
      phases.push({ after: sent, rssMb: await rssMb(pid), rps: run.requestsPerSec });
    }
    console.log(`\nmemory: RSS ${rssWarm} MB after warm-up; ${phases.map((h) => `${h.rssMb} MB after ${h.after}`).join(', ')} distinct prompts (${Math.round(phases.at(-1)!.rps)} req/s)`);
    console.log(JSON.stringify({
      completions: plain, completions_per_cpu_second: perCpuSecond, streaming: { ...streamed, tokensPerSec: streamed.requestsPerSec * tokens },
      memory: { rssWarmMb: rssWarm, distinct: phases },
    }));
  } finally {
    await sim.stop();
  }
}

await main();
