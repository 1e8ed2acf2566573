#!/usr/bin/env node
// vllm-engine-sim: a vLLM-compatible engine for CPU-only testing.
import { runSim } from './run.js';

await runSim(process.argv.slice(2));
