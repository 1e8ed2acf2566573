// The Ansible inventory (INI: Ansible's YAML plugin ignores a file named
// `hosts`). Host variables are prefixed vllm_node_ so that they never clash
// with extra vars, which take precedence over them.
import type { NodeConfig } from './node-config.js';

function iniValue(value: string | number | boolean | string[]): string {
  const text = Array.isArray(value) ? value.join(' ') : typeof value === 'boolean' ? (value ? 'True' : 'False') : String(value);
  return /^[A-Za-z0-9_./:-]+$/.test(text) ? text : `'${text.replace(/'/g, "\\'")}'`;
}

export function renderInventory(nodes: NodeConfig[]): string {
  const lines = ['# Generated from .config by make (scripts/gen-extra-vars.ts); do not edit.', '[all:vars]', 'ansible_python_interpreter=/usr/bin/python3', ''];
  for (const role of ['baseline', 'dev'] as const) {
    const node = nodes.find((n) => n.role === role);
    // Both groups always exist, so that plays on baseline:dev match without a warning on one node.
    if (!node) {
      lines.push(`[${role}]`, '');
      continue;
    }
    const vars: [string, string | number | boolean | string[]][] = [
      node.host === null ? ['ansible_connection', 'local'] : ['ansible_host', node.host],
      ['vllm_node_role', node.role],
      ['vllm_node_work_dir', node.workDir],
      ['vllm_node_router_port', node.routerPort],
      ['vllm_node_engine_port_base', node.enginePortBase],
      ['vllm_node_prometheus_port', node.prometheusPort],
      ...Object.entries(node.overrides).map(([k, v]) => [`vllm_node_${k}`, v] as [string, string | boolean | string[]]),
    ];
    lines.push(`[${role}]`, `${node.name} ${vars.map(([k, v]) => `${k}=${iniValue(v)}`).join(' ')}`, '');
  }
  lines.push('[vllm:children]', 'baseline', 'dev', '');
  return lines.join('\n');
}

/** The inventory of nodes known only by name, role and host: what deployment records give. */
export function renderNodesInventory(nodes: { name: string; role: 'baseline' | 'dev'; host: string | null }[], header: string): string {
  const lines = [header, '[all:vars]', 'ansible_python_interpreter=/usr/bin/python3', ''];
  for (const role of ['baseline', 'dev'] as const) {
    lines.push(`[${role}]`);
    for (const n of nodes.filter((x) => x.role === role)) lines.push(`${n.name} ${n.host === null ? 'ansible_connection=local' : `ansible_host=${iniValue(n.host)}`}`);
    lines.push('');
  }
  lines.push('[vllm:children]', 'baseline', 'dev', '');
  return lines.join('\n');
}
