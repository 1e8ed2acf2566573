// The cluster double's pure parts: Kubernetes quantities, a pod's requests,
// the scheduler's fit and its message, and which container command line it
// runs (Kubernetes' command/args over the image's ENTRYPOINT/CMD) or why not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchOf } from './support/cluster-double/images.js';
import { fitOnNode, parseQuantity, podRequests } from './support/cluster-double/scheduling.js';

test('quantities: millicores, binary and decimal suffixes; a malformed one is an error', () => {
  assert.equal(parseQuantity('400m'), 0.4);
  assert.equal(parseQuantity('6'), 6);
  assert.equal(parseQuantity('1Gi'), 2 ** 30);
  assert.equal(parseQuantity('1000Mi'), 1000 * 2 ** 20);
  assert.equal(parseQuantity('512M'), 512e6);
  assert.throws(() => parseQuantity('lots'), /not a Kubernetes quantity: "lots"/);
});

test("a pod's requests sum its containers', a limit standing in for a missing request", () => {
  assert.deepEqual(podRequests({ containers: [{ resources: { requests: { cpu: '400m', memory: '1000Mi' } } }, { resources: { limits: { cpu: '1', memory: '1Gi' } } }, {}] }),
    { cpu: 1.4, memory: 1000 * 2 ** 20 + 2 ** 30 });
});

test('the scheduler fits a pod within allocatable and names what is short otherwise', () => {
  const node = { cpu: 4, memory: 16 * 2 ** 30 };
  assert.equal(fitOnNode({ cpu: 1, memory: 2 ** 30 }, { cpu: 3, memory: 0 }, node), null, 'exactly full fits');
  assert.match(fitOnNode({ cpu: 6, memory: 16 * 2 ** 30 }, { cpu: 0.4, memory: 2 ** 30 }, node) ?? '', /^0\/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory\./);
});

test("the double runs this project's image from the rendered command line, and says why it cannot run others", () => {
  assert.deepEqual(launchOf({ image: 'ghcr.io/vllm-stack-harness/engine-sim:0.1.0', command: ['vllm', 'serve', 'm', '--port', '8000'] }),
    { ok: true, script: 'dist/engine-sim/src/vllm-main.js', args: ['serve', 'm', '--port', '8000'] });
  assert.deepEqual(launchOf({ image: 'ghcr.io/vllm-stack-harness/router:0.1.0', args: ['--port', '8000'] }),
    { ok: true, script: 'dist/router/src/main.js', args: ['--port', '8000'] }, 'args only: the ENTRYPOINT vllm-router');
  assert.deepEqual(launchOf({ image: 'localhost/vllm-stack-harness/router:dev' }),
    { ok: true, script: 'dist/router/src/main.js', args: ['--host', '0.0.0.0', '--port', '8000'] }, 'neither: ENTRYPOINT and CMD');
  const vllm = launchOf({ image: 'vllm/vllm-openai:v0.9.1', command: ['vllm', 'serve', 'm'] });
  assert.equal(vllm.ok, false);
  assert.match(vllm.ok ? '' : `${vllm.reason}: ${vllm.message}`, /^ErrImagePull: the cluster double runs only this project's image .*vllm\/vllm-openai:v0\.9\.1 is not it/);
  // production-stack's LoRA controller image: the double's stand-in of it, with the args the chart renders.
  assert.deepEqual(launchOf({ image: 'lmcache/lmstack-lora-controller:latest', args: ['--leader-elect', '--health-probe-bind-address=:8081'] }),
    { ok: true, script: 'dist/test/support/cluster-double/lora-controller.js', args: ['--leader-elect', '--health-probe-bind-address=:8081'] });
  const shell = launchOf({ image: 'ghcr.io/vllm-stack-harness/router:0.1.0', command: ['/bin/sh', '-c', 'x'] });
  assert.match(shell.ok ? '' : `${shell.reason}: ${shell.message}`, /^RunContainerError: exec: "\/bin\/sh": executable file not found in \$PATH/);
});
