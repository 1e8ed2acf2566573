// `vllm serve MODEL [flags]` -> the simulator's flags, so the simulator can be
// the production-stack chart's serving engine: the chart starts engines as
// `vllm serve <modelURL> --host 0.0.0.0 --port 8000 <flags from vllmConfig>`.
// Flags the simulator models map to its own; the other vLLM flags the chart
// renders (and common extra args) are accepted and reported once; anything
// else is refused, as vLLM would refuse it.

import { disaggregationArgs } from './pd/vllm-kv-config.js';

/** vLLM flags with a value that the simulator models under the same name. */
const MODELED_WITH_VALUE = ['host', 'port', 'model', 'served-model-name', 'max-model-len', 'max-num-seqs', 'block-size', 'api-key', 'seed',
  'max-num-batched-tokens', 'max-loras', 'max-cpu-loras', 'max-lora-rank'];
/** vLLM switches the simulator models. */
const MODELED_SWITCHES = ['enable-prefix-caching', 'no-enable-prefix-caching', 'enable-lora'];
/** The simulator's own knobs (no vLLM equivalent), passed through by the harness's extra args. */
const SIM_WITH_VALUE = ['instance-id', 'max-waiting', 'kv-blocks', 'offload-blocks', 'prefill-overhead', 'prefill-time-per-token', 'offload-time-per-token',
  'inter-token-latency', 'load-factor', 'jitter', 'time-scale', 'failure-rate', 'failure-kinds', 'max-body-size', 'shutdown-timeout',
  'lora-swap-time', 'lora-load-time', 'kv-role', 'kv-peer', 'kv-port', 'kv-transfer-tokens-per-second'];
const SIM_SWITCHES = ['echo', 'no-prefix-caching'];
/** vLLM flags with a value that change nothing a simulator has: GPUs, weights, kernels, adapters, templates, LMCache's connector. */
export const IGNORED_WITH_VALUE = ['kv-transfer-config', 'dtype', 'tensor-parallel-size', 'pipeline-parallel-size', 'gpu-memory-utilization', 'runner', 'convert',
  'revision', 'chat-template', 'tool-call-parser', 'kv-cache-dtype', 'quantization', 'swap-space',
  'cpu-offload-gb', 'uvicorn-log-level', 'tokenizer', 'download-dir'];
export const IGNORED_SWITCHES = ['enable-auto-tool-choice', 'enable-chunked-prefill', 'no-enable-chunked-prefill', 'trust-remote-code',
  'enforce-eager', 'disable-log-requests', 'disable-log-stats'];

export interface Translated {
  simArgs: string[];
  /** The vLLM flags accepted without effect, as given. */
  ignored: string[];
}

export class VllmCliError extends Error {}

/** Translates the arguments after `vllm` (starting with `serve`); env supplies the pod's address for the instance id. */
export function translateVllmArgs(argv: string[], env: NodeJS.ProcessEnv = {}): Translated {
  const [command, ...rest] = argv;
  if (command !== 'serve') throw new VllmCliError(`only "vllm serve" is simulated, not "vllm ${command ?? ''}"`);
  const simArgs: string[] = [];
  const ignored: string[] = [];
  let i = 0;
  if (rest[0] !== undefined && !rest[0].startsWith('-')) simArgs.push('--model', rest[i++] as string);
  while (i < rest.length) {
    const raw = rest[i++] as string;
    if (!raw.startsWith('--')) throw new VllmCliError(`unexpected argument "${raw}" (vllm serve takes one model, then --flags)`);
    const eq = raw.indexOf('=');
    // vLLM's parser takes --gpu_memory_utilization as --gpu-memory-utilization.
    const name = (eq < 0 ? raw.slice(2) : raw.slice(2, eq)).replace(/_/g, '-');
    const inline = eq < 0 ? undefined : raw.slice(eq + 1);
    const value = () => {
      if (inline !== undefined) return inline;
      const v = rest[i++];
      if (v === undefined) throw new VllmCliError(`--${name} needs a value`);
      return v;
    };
    if (name === 'help' || name === 'h') simArgs.push('--help');
    else if (name === 'lora-modules') {
      // vLLM takes one or more modules after the flag (nargs "+").
      const modules = inline !== undefined ? [inline] : [];
      while (inline === undefined && rest[i] !== undefined && !(rest[i] as string).startsWith('--')) modules.push(rest[i++] as string);
      if (modules.length === 0) throw new VllmCliError('--lora-modules needs at least one name=path');
      for (const m of modules) simArgs.push('--lora-modules', m);
    }
    else if (MODELED_WITH_VALUE.includes(name) || SIM_WITH_VALUE.includes(name)) simArgs.push(`--${name}`, value());
    else if (MODELED_SWITCHES.includes(name) || SIM_SWITCHES.includes(name)) simArgs.push(`--${name}`);
    else if (name === 'kv-transfer-config') {
      const text = value();
      const pd = disaggregationArgs(text, env);
      // Without a producer or consumer role the connector is LMCache's offload, which --offload-blocks models.
      if (pd.length > 0) simArgs.push(...pd);
      else ignored.push(`--${name} ${text}`);
    }
    else if (IGNORED_WITH_VALUE.includes(name)) ignored.push(`--${name} ${value()}`);
    else if (IGNORED_SWITCHES.includes(name)) ignored.push(`--${name}`);
    else throw new VllmCliError(`unknown vLLM flag --${name}: the simulator models ${[...MODELED_WITH_VALUE, ...MODELED_SWITCHES].map((f) => `--${f}`).join(' ')} and accepts ${[...IGNORED_WITH_VALUE, ...IGNORED_SWITCHES].map((f) => `--${f}`).join(' ')} without effect`);
  }
  // Every pod of a chart Deployment has the same hostname; its IP tells them apart in x-engine-instance-id.
  if (!simArgs.includes('--instance-id') && env.POD_IP) simArgs.push('--instance-id', `sim-${env.POD_IP}`);
  return { simArgs, ignored };
}
