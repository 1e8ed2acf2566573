// The cluster double: the Kubernetes API test server made strict enough that
// the real helm installs the real production-stack chart into it and
// @kubernetes/client-node, kubectl and the router's discovery talk to it as to
// a cluster: discovery, schema validation (422), unknown fields by the
// request's fieldValidation (400 with Strict), unknown kinds (404), writes
// into missing namespaces refused (404), server-side apply, helm's protobuf
// release Secrets, Deployments that own ReplicaSets that own the pods, the
// readiness helm's --wait reads. One node, sized like the
// configured minikube, for the scheduler, whose address (127.<octet>.255.254,
// beside its pods' 127.<octet>.x.y) serves the Services' node ports, and whose Services' cluster IPs
// (127.<octet>.252.x to .255.x) serve their ports (cluster-double/service-proxy.ts); pods find Services by name
// (cluster-double/cluster-dns.ts). Its pods run this project's image as processes (cluster-double/pod-runner.ts).
import { ServiceProxy } from './cluster-double/service-proxy.js';
import { PodRunner } from './cluster-double/pod-runner.js';
import { KubeApiServer, type KubeApiOptions, type KubeObject } from './kube-api-server.js';
import { REPO } from './temp-project.js';

export interface NodeSize {
  /** Allocatable CPUs (minikube --cpus). */
  cpus: number;
  /** Allocatable memory in MiB (minikube --memory). */
  memoryMiB: number;
}

/** minikube's defaults in this project (CONFIG_VLLM_MINIKUBE_CPUS, CONFIG_VLLM_MINIKUBE_MEMORY). */
export const MINIKUBE_NODE: NodeSize = { cpus: 4, memoryMiB: 16384 };

export interface ClusterDoubleOptions {
  node?: NodeSize;
  /** Multiplies the rendered probes' delays and periods, and stand-ins' waits (default 1, the kubelet's timing; tests take less). */
  probeTimeScale?: number;
  /** Pod addresses are 127.<octet>.x.y (default: one of 100..199 by process and double, see freshOctet). */
  addressOctet?: number;
  /** Passed to the API server (authorization…). */
  api?: KubeApiOptions;
}

const NODE_NAME = 'cluster-double';
let doublesStarted = 0;

/**
 * A second octet of its own for each double: two doubles on one machine (two test processes, two
 * people) on the same addresses would answer each other's probes and requests.
 */
function freshOctet(): number {
  return 100 + ((process.pid + 37 * doublesStarted++) % 100);
}

/** The node's InternalIP, where its node ports listen: off 127.0.0.1, so a random node port meets no other program's port. */
export const nodeAddress = (octet: number) => `127.${octet}.255.254`;

/**
 * The service CIDR: cluster IPs 127.<octet>.252.1 up, below the node's address, where the double's kube-proxy can
 * listen (pods' addresses, 127.<octet>.x.y from .0.2, stay far below).
 */
function serviceAddress(octet: number): (n: number) => string {
  return (n) => {
    if (n > 1000) throw new Error('the cluster double\'s service CIDR is used up (1000 Services): start a new double');
    return `127.${octet}.${252 + (n >> 8)}.${n & 0xff}`;
  };
}

export class ClusterDouble {
  private constructor(readonly api: KubeApiServer, readonly node: NodeSize, readonly pods: PodRunner, private readonly services: ServiceProxy) {}

  static async start(options: ClusterDoubleOptions = {}, host = '127.0.0.1', port = 0): Promise<ClusterDouble> {
    const node = options.node ?? MINIKUBE_NODE;
    const octet = options.addressOctet ?? freshOctet();
    const pods = new PodRunner({
      repo: REPO, nodeName: NODE_NAME, probeTimeScale: options.probeTimeScale ?? 1,
      allocatable: { cpu: node.cpus, memory: node.memoryMiB * 2 ** 20 }, addressOctet: octet,
    });
    // anonymous: client-go sends no bearer token to a plain-HTTP server.
    const api = new KubeApiServer({ anonymous: true, validate: true, pods, serviceAddress: serviceAddress(octet), ...options.api });
    pods.attach(api);
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) api.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    const resources = { cpu: String(node.cpus), memory: `${node.memoryMiB}Mi`, pods: '110', 'ephemeral-storage': '100Gi' };
    api.put({
      apiVersion: 'v1', kind: 'Node', metadata: { name: NODE_NAME, labels: { 'kubernetes.io/hostname': NODE_NAME, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' } },
      spec: {}, status: { addresses: [{ type: 'InternalIP', address: nodeAddress(octet) }, { type: 'Hostname', address: NODE_NAME }], capacity: resources, allocatable: resources, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }], nodeInfo: { kubeletVersion: 'v1.33.0' } },
    });
    const services = new ServiceProxy(api.store, nodeAddress(octet), (ip) => ip.startsWith(`127.${octet}.`));
    await api.listen(host, port);
    return new ClusterDouble(api, node, pods, services);
  }

  get url(): string {
    return this.api.url;
  }

  writeKubeconfig(path: string, namespace = 'default'): Promise<string> {
    return this.api.writeKubeconfig(path, namespace);
  }

  /** Stops every pod's processes, then the API server. */
  async close(): Promise<void> {
    this.services.close();
    await this.pods.stopAll();
    await this.api.close();
  }
}

/**
 * The prometheus-operator CRDs the chart's monitoring renders (ServiceMonitor, PodMonitor,
 * PrometheusRule), as a cluster running kube-prometheus-stack has them. Their objects are
 * validated against kubernetes-models' prometheus-operator schemas, so these CRDs need none.
 */
export function prometheusOperatorCrds(): KubeObject[] {
  return [['servicemonitors', 'ServiceMonitor', 'smon'], ['podmonitors', 'PodMonitor', 'pmon'], ['prometheusrules', 'PrometheusRule', 'promrule']].map(([plural, kind, short]) => ({
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.monitoring.coreos.com` },
    spec: {
      group: 'monitoring.coreos.com', scope: 'Namespaced',
      names: { plural, singular: (kind as string).toLowerCase(), kind, listKind: `${kind}List`, shortNames: [short] },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  }));
}
