// The documented local configurations with LoRA adapters, each deployed
// through make in a project of its own (test/support/local-configurations.ts).
import { DEPLOYED_IN, eachDeploysAsConfigured } from './support/local-configurations.js';

eachDeploysAsConfigured(DEPLOYED_IN.lora);
