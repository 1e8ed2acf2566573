// Where the harness reaches the router, read from the router's Service as
// deployed (its type comes from CONFIG_VLLM_ROUTER_SERVICE_TYPE): ClusterIP
// through a port-forward; NodePort at the first node's address and the node
// port; LoadBalancer at the load balancer's address. A port-forward carries
// every request through the API server, which caps what a load from the node
// measures; the other two carry requests as a client outside the cluster. Pure.
import type { V1Node, V1Service } from '@kubernetes/client-node';

/** The chart's name of the router's HTTP port in its Service (templates/service-router.yaml). */
export const ROUTER_SERVICE_PORT_NAME = 'router-sport';

export type RouterAddress =
  | { via: 'port-forward' }
  | { via: 'node-port' | 'load-balancer'; url: string }
  | { via: 'none'; problem: string };

const SETTING = 'CONFIG_VLLM_ROUTER_SERVICE_TYPE';

function host(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

export function routerAddress(service: V1Service, nodes: V1Node[]): RouterAddress {
  const name = service.metadata?.name ?? 'the router Service';
  const type = service.spec?.type ?? 'ClusterIP';
  const ports = service.spec?.ports ?? [];
  const port = ports.find((p) => p.name === ROUTER_SERVICE_PORT_NAME) ?? ports[0];
  if (type === 'ClusterIP') return { via: 'port-forward' };
  if (!port) return { via: 'none', problem: `${name} has no port` };
  if (type === 'NodePort') {
    if (!port.nodePort) return { via: 'none', problem: `${name} is a NodePort Service without a node port yet` };
    // InternalIP is the address minikube ip and kubectl report; ExternalIP when a node has only that.
    const addresses = nodes.flatMap((n) => n.status?.addresses ?? []);
    const address = addresses.find((a) => a.type === 'InternalIP') ?? addresses.find((a) => a.type === 'ExternalIP');
    if (!address) return { via: 'none', problem: `${name} is a NodePort Service, but no node lists an InternalIP or ExternalIP address to reach it at; set ${SETTING} to ClusterIP (a port-forward)` };
    return { via: 'node-port', url: `http://${host(address.address)}:${port.nodePort}` };
  }
  if (type === 'LoadBalancer') {
    const ingress = service.status?.loadBalancer?.ingress?.[0];
    const address = ingress?.ip ?? ingress?.hostname;
    if (!address) {
      return { via: 'none', problem: `${name} is a LoadBalancer Service whose address is still pending: the cluster has no load-balancer controller, or it has not assigned one yet; set ${SETTING} to NodePort or ClusterIP (a port-forward)` };
    }
    return { via: 'load-balancer', url: `http://${host(address)}:${port.port}` };
  }
  return { via: 'none', problem: `${name} is of type ${type}, which the harness cannot reach; set ${SETTING} to ClusterIP, NodePort or LoadBalancer` };
}
