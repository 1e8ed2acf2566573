// The JSON Schema of extra_vars.yaml, derived from the Kconfig declarations
// (types, ranges) and the choice constants (enums). The committed copy in
// schemas/extra-vars.schema.json is checked against this by a test.
import { CONTAINER_RUNTIMES, DEV_LMCACHE, DTYPES, ENGINE_INSTALLS, ENGINES, K8S_QUANTITY, PD_ROUTING_LOGICS, ROUTER_IMPLS, ROUTER_SERVICE_TYPES, ROUTING_LOGICS, TARGETS } from './choices.js';
import { varName } from './extra-vars.js';
import type { KconfigSymbol } from './kconfig-tree.js';

const ENUMS: Record<string, readonly string[]> = {
  vllm_target: TARGETS,
  vllm_engine: ENGINES,
  vllm_engine_install: ENGINE_INSTALLS,
  vllm_container_runtime: CONTAINER_RUNTIMES,
  vllm_router_impl: ROUTER_IMPLS,
  vllm_router_service_type: ROUTER_SERVICE_TYPES,
  vllm_routing_logic: ROUTING_LOGICS,
  vllm_dtype: DTYPES,
  vllm_dev_router_impl: ['', ...ROUTER_IMPLS],
  vllm_dev_routing_logic: ['', ...ROUTING_LOGICS],
  vllm_dev_lmcache_enabled: DEV_LMCACHE,
  vllm_pd_routing_logic: PD_ROUTING_LOGICS,
};

const PATTERNS: Record<string, string> = {
  vllm_request_memory: K8S_QUANTITY,
  vllm_lmcache_disk_buffer_size: `(${K8S_QUANTITY})|^$`,
  vllm_declared_hosts: '^$|^[A-Za-z0-9.-]+(,[A-Za-z0-9.-]+)?$',
  // Absolute: the node tool and Ansible use it as is on the host, where no project directory is.
  vllm_node_dir: '^/[^\\s\'"]*$',
  vllm_router_session_key: '^[A-Za-z0-9_-]+$',
  vllm_model_url: '^\\S+$',
  // A node's own home: the path is resolved on the node, which may be another machine.
  vllm_venv_dir: '^(/|~/)\\S*$',
  vllm_hf_cache_dir: '^(/|~/)\\S*$',
  // A release pip can pin (vllm==0.11.0, 0.10.1.1, 0.11.0rc1).
  vllm_version: '^[0-9]+(\\.[0-9]+)+([a-z]+[0-9]*)?$',
  vllm_engine_image_tag: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$',
  vllm_lora_adapters: '^\\s*[A-Za-z0-9][A-Za-z0-9._-]*=[^\\s:=]+(:[0-9]+)?(\\s+[A-Za-z0-9][A-Za-z0-9._-]*=[^\\s:=]+(:[0-9]+)?)*\\s*$',
};

export function buildSchema(tree: Map<string, KconfigSymbol>): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const sym of tree.values()) {
    const name = varName(sym.name);
    const prop: Record<string, unknown> = { type: sym.type === 'bool' ? 'boolean' : sym.type === 'int' ? 'integer' : 'string' };
    if (sym.range) {
      prop.minimum = sym.range[0];
      prop.maximum = sym.range[1];
    }
    if (ENUMS[name]) prop.enum = [...(ENUMS[name] ?? [])];
    if (PATTERNS[name]) prop.pattern = PATTERNS[name];
    properties[name] = prop;
    if (sym.type === 'bool' || sym.dependsOn.length === 0) required.push(name);
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'extra-vars.schema.json',
    title: 'extra_vars.yaml: the Ansible variables generated from .config',
    type: 'object',
    additionalProperties: false,
    required,
    properties,
  };
}
