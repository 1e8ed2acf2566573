// The stacks this project runs on the local target, from the deployment
// records (.deployed/) and the configuration: what a node deployed but no
// longer configured still runs is shown whatever .config says now, also when
// it now points at a Kubernetes cluster.
import { join } from 'node:path';
import { STATE_DIR } from '../../config/node-config.js';
import { listRecords, type DeploymentRecord } from '../../deployment/index.js';
import type { LoadedConfig } from '../../stack/load-node.js';
import { localNodeStatus, remoteNodeStatus } from './local-status.js';
import type { NodeStatus } from '../../status/node-status.js';

const ROLE_ORDER = (name: string) => (name === 'vllm-baseline' ? 0 : name === 'vllm-dev' ? 1 : 2);

/**
 * Every local node's live state: the configuration's nodes when it is on the
 * local target (config null or on another target: none), and every node
 * .deployed/ holds a local record of, configured or not.
 */
export async function localNodeStatuses(project: string, config: LoadedConfig | null): Promise<NodeStatus[]> {
  const stateDir = join(project, STATE_DIR);
  const records: DeploymentRecord[] = (await listRecords(stateDir)).filter((r) => r.target === 'local');
  const local = config && config.vars.vllm_target === 'local' ? config : null;
  const names = [...new Set([...(local?.nodes.map((n) => n.node.name) ?? []), ...records.map((r) => r.node)])]
    .sort((a, b) => ROLE_ORDER(a) - ROLE_ORDER(b) || a.localeCompare(b));
  const status = (name: string): Promise<NodeStatus> => {
    const conf = local?.nodes.find((n) => n.node.name === name) ?? null;
    const record = records.find((r) => r.node === name);
    const host = record ? record.host : conf?.node.host ?? null;
    const spec = record?.spec ?? conf?.spec;
    if (host !== null && spec) return remoteNodeStatus(spec, host, 'local', conf !== null);
    return localNodeStatus({ node: name, stateDir }, conf?.spec ?? null, 'local');
  };
  return Promise.all(names.map(status));
}
