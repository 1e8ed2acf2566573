// One simulated engine: admission (scheduler), prefix cache, latency model
// and metrics around each request. I/O-free: the server hands it a parsed
// request and receives tokens through a callback.
import { ApiError, badRequest } from './errors.js';
import { interTokenMs, prefillMs, seededRandom, type LatencySettings } from './latency.js';
import { LoraAdapters } from './lora/adapters.js';
import { placementMs } from './lora/slots.js';
import { EngineMetrics } from './metrics.js';
import type { EngineSimOptions, FailureKind } from './options.js';
import { blockHashes, PrefixCache } from './prefix-cache.js';
import { interferenceMs } from './pd/kv-config.js';
import { promptKey } from './pd/kv-store.js';
import { KvTransfer } from './pd/kv-transfer.js';
import type { GenerationRequest } from './request.js';
import { QueueFullError, Scheduler } from './scheduler.js';
import { generate } from './text.js';
import { tokenize } from './tokenizer.js';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export interface RunResult {
  finishReason: 'stop' | 'length';
  usage: Usage;
  /** kv_transfer_params for the answer of an orchestrated prefill, or null. */
  kvTransferParams: Record<string, unknown> | null;
}

/** What can change while the engine runs (POST /admin/config). */
export interface Tunables extends LatencySettings {
  failureRate: number;
  failureKinds: FailureKind[];
}

class Aborted extends Error {}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Aborted());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Aborted());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export class SimEngine {
  readonly cache: PrefixCache;
  readonly scheduler: Scheduler;
  readonly metrics: EngineMetrics;
  readonly tunables: Tunables;
  readonly lora: LoraAdapters;
  /** Disaggregated prefill: this engine's KV transfer, or null when it has no role. */
  readonly pd: KvTransfer | null;
  /** Uncached prompt tokens being prefilled now: the chunk each decode step shares its batch with. */
  private prefillingTokens = 0;
  private readonly random: () => number;

  constructor(readonly options: EngineSimOptions) {
    this.cache = new PrefixCache(options.kvBlocks, options.offloadBlocks);
    this.scheduler = new Scheduler(options.maxNumSeqs, options.maxWaiting);
    this.random = seededRandom(options.seed);
    this.tunables = {
      prefillOverhead: options.prefillOverhead, prefillTimePerToken: options.prefillTimePerToken,
      offloadTimePerToken: options.offloadTimePerToken, interTokenLatency: options.interTokenLatency,
      loadFactor: options.loadFactor, jitter: options.jitter, timeScale: options.timeScale,
      failureRate: options.failureRate, failureKinds: options.failureKinds,
    };
    this.metrics = new EngineMetrics(options.servedModelNames[0] ?? options.model, {
      running: () => this.scheduler.running,
      waiting: () => this.scheduler.waiting,
      kvUsage: () => this.cache.stats().pinned / this.cache.capacity,
    }, { blockSize: options.blockSize, kvBlocks: options.kvBlocks, prefixCaching: options.prefixCaching });
    this.lora = new LoraAdapters(options.lora, options.servedModelNames[0] ?? options.model, this.metrics.registry);
    this.pd = options.kvRole === 'none' ? null
      : new KvTransfer(options, this.metrics.registry, options.servedModelNames[0] ?? options.model, options.kvBlocks, () => this.tunables.timeScale,
        () => this.instanceId, (line) => process.stderr.write(`${line}\n`));
  }

  /** The name the engine answers as (set by the server once it listens). */
  instanceId = '';

  /** A failure to inject for this request, drawn from the failure rate. */
  drawFailure(): FailureKind | null {
    const { failureRate, failureKinds } = this.tunables;
    if (failureRate <= 0 || this.random() >= failureRate) return null;
    return failureKinds[Math.floor(this.random() * failureKinds.length)] ?? null;
  }

  countTokens(text: string): number {
    return tokenize(text).length;
  }

  /**
   * Runs one request: waits for admission, "prefills" what the cache does not
   * hold, then emits tokens one by one. `onStart` runs once admitted (streams
   * send their headers then); `onToken` gets each token's text. `adapter`:
   * the LoRA adapter the request names, brought onto the GPU first when it is not there.
   */
  async run(req: GenerationRequest, signal: AbortSignal, onStart: () => void, onToken: (text: string) => void, adapter: string | null = null): Promise<RunResult> {
    const o = this.options;
    const arrival = performance.now();
    const tokens = tokenize(req.prompt);
    const promptTokens = tokens.length;
    const room = o.maxModelLen - promptTokens;
    const pd = this.pd;
    const prefillOnly = pd !== null && pd.prefillOnly(req.maxTokens, req.kvTransfer);
    // A prefill for a decode engine produces one token, whatever the request asked (as vLLM's NixlConnector).
    const maxTokens = prefillOnly ? 1 : req.maxTokens ?? room;
    if (promptTokens + maxTokens > o.maxModelLen || room < 1) {
      throw badRequest(`This model's maximum context length is ${o.maxModelLen} tokens. However, you requested ${promptTokens + Math.max(maxTokens, 1)} tokens (${promptTokens} in the messages, ${Math.max(maxTokens, 1)} in the completion). Please reduce the length of the messages or completion.`, 'max_tokens');
    }
    try {
      await this.scheduler.admit(signal);
    } catch (err) {
      if (err instanceof QueueFullError) throw new ApiError(429, err.message, 'TooManyRequestsError');
      throw new Aborted();
    }
    const hashes = o.prefixCaching ? blockHashes(tokens, o.blockSize) : [];
    let pinned: number[] = [];
    let holdsAdapter = false;
    try {
      const admitted = performance.now();
      onStart();
      let swapMs = 0;
      if (adapter !== null) {
        const placement = await this.lora.slots.acquire(adapter, signal).catch(() => {
          throw new Aborted();
        });
        holdsAdapter = true;
        this.lora.metrics.placed(adapter, placement);
        const l = o.lora;
        swapMs = placementMs(placement, l.swapTime, l.loadTime, l.maxLoraRank) * this.tunables.timeScale;
      }
      // As vLLM: the last prompt token is always computed (its logits start the answer), so a
      // fully cached prompt still misses its last block.
      const match = this.cache.match(hashes.slice(0, Math.floor((promptTokens - 1) / o.blockSize)));
      pinned = this.cache.acquire(hashes);
      const gpuTokens = match.gpuBlocks * o.blockSize;
      const offloadTokens = match.offloadBlocks * o.blockSize;
      const m = this.metrics;
      m.promptTokens.inc(promptTokens);
      m.promptHist.observe(promptTokens);
      if (o.prefixCaching) {
        m.cacheQueries.inc(promptTokens);
        m.cacheHits.inc(gpuTokens);
        m.gpuCacheQueries.inc(promptTokens);
        m.gpuCacheHits.inc(gpuTokens);
        m.recordCacheLookup(promptTokens, gpuTokens);
        if (o.offloadBlocks > 0) {
          m.lmcacheRequested.inc(promptTokens - gpuTokens);
          m.lmcacheHit.inc(offloadTokens);
        }
      }
      const key = pd === null ? '' : promptKey(tokens);
      const promptBlocks = Math.ceil(promptTokens / o.blockSize);
      // A decode engine's prompt KV crosses from the prefill engine (inside TTFT); when it never arrives the prompt is recomputed here.
      const transferred = pd !== null && !prefillOnly && pd.expectsKv(req.kvTransfer) && (await pd.kvForDecode(key, promptBlocks, req.kvTransfer)).present;
      if (signal.aborted) throw new Aborted();
      const uncached = transferred ? 0 : promptTokens - gpuTokens - offloadTokens;
      const running = this.scheduler.running;
      const prefill = prefillMs(this.tunables, uncached, transferred ? 0 : offloadTokens, running, o.maxNumSeqs, this.random);
      this.prefillingTokens += uncached;
      try {
        if (prefill + swapMs > 0) await sleep(prefill + swapMs, signal);
      } finally {
        this.prefillingTokens -= uncached;
      }
      const out = generate(o.seed, req.prompt, maxTokens, req.ignoreEos, o.echo ? req.echoText : null);
      let first = 0;
      let last = 0;
      for (let i = 0; i < out.tokens.length; i++) {
        if (i > 0) {
          // Prefills running beside this decode share its steps (chunked prefill): each step takes their chunk's time too.
          const itl = interTokenMs(this.tunables, this.scheduler.running, o.maxNumSeqs, this.random)
            + interferenceMs(this.prefillingTokens, o.maxNumBatchedTokens, this.tunables.prefillTimePerToken, this.tunables.timeScale);
          if (itl > 0) await sleep(itl, signal);
        }
        if (signal.aborted) throw new Aborted();
        const now = performance.now();
        if (i === 0) first = now;
        else m.itl.observe((now - last) / 1000);
        last = now;
        onToken(out.tokens[i] as string);
      }
      // The prefill leg ends once its KV has gone out (or is held for the decode engine to pull).
      const shipped = prefillOnly && pd !== null ? await pd.shipPrefill(key, { blocks: promptBlocks, tokens: promptTokens }, req.kvTransfer) : null;
      const end = performance.now();
      const completionTokens = out.tokens.length;
      m.generationTokens.inc(completionTokens);
      m.generationHist.observe(completionTokens);
      m.success.inc({ model_name: o.servedModelNames[0] ?? o.model, finished_reason: out.finishReason });
      m.ttft.observe((first - arrival) / 1000);
      if (adapter !== null) this.lora.metrics.firstToken(adapter, (first - arrival) / 1000);
      m.queue.observe((admitted - arrival) / 1000);
      m.prefill.observe((first - admitted) / 1000);
      m.decode.observe((end - first) / 1000);
      m.e2e.observe((end - arrival) / 1000);
      if (completionTokens > 1) {
        const tpot = (end - first) / 1000 / (completionTokens - 1);
        m.tpot.observe(tpot);
        m.tpotRequest.observe(tpot);
      }
      return {
        finishReason: out.finishReason,
        usage: {
          prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens,
          prompt_tokens_details: { cached_tokens: transferred ? promptTokens : gpuTokens + offloadTokens },
        },
        kvTransferParams: shipped?.params ?? null,
      };
    } finally {
      if (holdsAdapter) this.lora.slots.release(adapter as string);
      this.cache.release(pinned);
      this.scheduler.finish();
    }
  }
}

export function isAborted(err: unknown): boolean {
  return err instanceof Aborted;
}
