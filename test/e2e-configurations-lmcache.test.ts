// The documented local configurations with LMCache (and A/B router settings), each deployed
// through make in a project of its own (test/support/local-configurations.ts).
import { DEPLOYED_IN, eachDeploysAsConfigured } from './support/local-configurations.js';

eachDeploysAsConfigured(DEPLOYED_IN.lmcache);
