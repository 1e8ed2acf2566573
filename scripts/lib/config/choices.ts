// The values of the derived choice strings: the schema's enums and the code
// that reads them come from these lists, so they cannot drift apart.
export const TARGETS = ['local', 'minikube', 'existing'] as const;
export const ENGINES = ['sim', 'vllm'] as const;
/** How real vLLM runs on the local target and declared hosts (CONFIG_VLLM_ENGINE_INSTALL). */
export const ENGINE_INSTALLS = ['venv', 'container', 'path'] as const;
export const CONTAINER_RUNTIMES = ['docker', 'podman'] as const;
export const ROUTER_IMPLS = ['builtin', 'production-stack'] as const;
/** The router Service's type on Kubernetes (CONFIG_VLLM_ROUTER_SERVICE_TYPE): how the harness reaches the router. */
export const ROUTER_SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;
export const ROUTING_LOGICS = ['roundrobin', 'session', 'prefixaware', 'leastloaded'] as const;
/** Disaggregated prefill's router logics (CONFIG_VLLM_PD_ROUTING_LOGIC). */
export const PD_ROUTING_LOGICS = ['disaggregated_prefill', 'disaggregated_prefill_orchestrated'] as const;
export const DTYPES = ['auto', 'half', 'float16', 'bfloat16', 'float32'] as const;
/** Dev overrides: "" means same as baseline. */
export const DEV_LMCACHE = ['', 'y', 'n'] as const;

export type Target = (typeof TARGETS)[number];
export type Engine = (typeof ENGINES)[number];
export type EngineInstall = (typeof ENGINE_INSTALLS)[number];
export type ContainerRuntime = (typeof CONTAINER_RUNTIMES)[number];
export type RouterImpl = (typeof ROUTER_IMPLS)[number];
export type RouterServiceType = (typeof ROUTER_SERVICE_TYPES)[number];
export type RoutingLogic = (typeof ROUTING_LOGICS)[number];
export type PdRoutingLogic = (typeof PD_ROUTING_LOGICS)[number];

/** Kubernetes resource quantity, as kubectl accepts it (16Gi, 8192Mi, 16G, 0.5). */
export const K8S_QUANTITY = '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$';
export const K8S_QUANTITY_HELP = 'a Kubernetes quantity: a number with an optional suffix Ki Mi Gi Ti (powers of 1024) or k M G T, e.g. 16Gi';
