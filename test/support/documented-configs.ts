// The configurations README.md documents: every defconfig, and every
// base+fragment combination it names. Tests configure (and, for the local
// target, deploy) each of them.
export const DOCUMENTED = [
  'vllm', 'vllm-local', 'vllm-quick-test', 'vllm-production-stack-cpu', 'vllm-production-stack-gpu', 'vllm-existing-cluster',
  'vllm-local+ab', 'vllm-local+lmcache', 'vllm-local+ab-lmcache', 'vllm-local+ab-router', 'vllm-local+ab+lmcache', 'vllm-local+pd', 'vllm-local+ab-pd',
  'vllm+ab', 'vllm+gpu', 'vllm+ab-lmcache', 'vllm+serving', 'vllm-production-stack-cpu+gpu', 'vllm-existing-cluster+ab-router',
  'vllm+sim', 'vllm+sim+autoscaling', 'vllm-production-stack-cpu+sim+ab', 'vllm-production-stack-gpu+ab', 'vllm-existing-cluster+sim',
  'vllm-local+lora', 'vllm-local+ab-lora-affinity', 'vllm+sim+lora',
  'vllm-quick-test+gpu', 'vllm-quick-test+gpu+container',
  'vllm-declared-hosts', 'vllm-declared-hosts+ab', 'vllm-declared-hosts+ab-lmcache', 'vllm-declared-hosts+gpu', 'vllm-declared-hosts+gpu+container',
];

/**
 * The documented configurations of the local target: what a fresh clone runs with `make vllm`.
 * Real vLLM on GPUs (+gpu) needs a GPU box: configured and its command lines asserted, not deployed here.
 */
export const DOCUMENTED_LOCAL = DOCUMENTED.filter((c) => (c.startsWith('vllm-local') || c.startsWith('vllm-quick-test')) && !c.includes('+gpu'));
