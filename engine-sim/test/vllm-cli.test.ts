// The `vllm serve` command line as the simulator's entry point reads it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOptions } from '../src/options.js';
import { translateVllmArgs, VllmCliError } from '../src/vllm-cli.js';

test('vllm serve MODEL: modeled flags map to the simulator, the others are reported, underscores and --flag=value read as vLLM reads them', () => {
  const { simArgs, ignored } = translateVllmArgs(['serve', 'facebook/opt-125m', '--host', '0.0.0.0', '--port', '8000', '--no-enable-chunked-prefill',
    '--enable-prefix-caching', '--max-model-len', '4096', '--dtype', 'bfloat16', '--tensor-parallel-size', '2', '--max-num-seqs', '64',
    '--gpu_memory_utilization', '0.9', '--served-model-name=opt', '--kv-blocks', '128', '--kv-transfer-config', '{"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}']);
  assert.deepEqual(simArgs, ['--model', 'facebook/opt-125m', '--host', '0.0.0.0', '--port', '8000', '--enable-prefix-caching', '--max-model-len', '4096',
    '--max-num-seqs', '64', '--served-model-name', 'opt', '--kv-blocks', '128']);
  assert.deepEqual(ignored, ['--no-enable-chunked-prefill', '--dtype bfloat16', '--tensor-parallel-size 2', '--gpu-memory-utilization 0.9',
    '--kv-transfer-config {"kv_connector":"LMCacheConnectorV1","kv_role":"kv_both"}']);
  const options = parseOptions(simArgs, {});
  assert.ok(options !== 'help');
  assert.deepEqual([options.maxModelLen, options.maxNumSeqs, options.servedModelNames, options.kvBlocks], [4096, 64, ['opt'], 128]);
});

test('the pod address names the instance; what vLLM would refuse is refused with what is accepted', () => {
  assert.deepEqual(translateVllmArgs(['serve', 'm'], { POD_IP: '10.0.0.7' }).simArgs, ['--model', 'm', '--instance-id', 'sim-10.0.0.7']);
  assert.throws(() => translateVllmArgs(['bench', 'serve']), /only "vllm serve" is simulated/);
  assert.throws(() => translateVllmArgs(['serve', 'm', '--speculative-model', 'x']), (e: Error) => e instanceof VllmCliError && /unknown vLLM flag --speculative-model: the simulator models .*--max-model-len/.test(e.message));
  assert.throws(() => translateVllmArgs(['serve', 'm', '--max-model-len']), /--max-model-len needs a value/);
  assert.throws(() => translateVllmArgs(['serve', 'm', 'extra']), /unexpected argument "extra"/);
});
