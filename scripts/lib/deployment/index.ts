// What a project has deployed, independent of its configuration: the
// per-node deployment records, the per-node lock every command that changes,
// perturbs or measures a node takes, what changed since deploy, and which
// build of the node tools a declared host runs.
export { STATE_DIR, SECRET_ENV, listRecords, readRecord, recordFile, redactSpec, removeRecord, restoreSecrets, writeRecord, type DeploymentRecord, type StackState } from './record.js';
export { NodeBusyError, acquireNodeLock, lockFile, lockHolder, withNodeLock, type LockHolder, type NodeRef } from './node-lock.js';
export { describeDrift, specDrift, type Drift } from './drift.js';
export { BUNDLE_FILES, BUNDLE_PATH, BUNDLE_STAMP, TOOLS_ROOT, bundleMismatch, productionModules } from './node-bundle.js';
