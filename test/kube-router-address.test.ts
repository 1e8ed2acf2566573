// Where the harness reaches the router, from the router Service as deployed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { routerAddress } from '../scripts/lib/targets/kube/router-address.js';

const service = (type: string, extra: Partial<V1Service> = {}, nodePort?: number): V1Service => ({
  metadata: { name: 'vllm-baseline-router-service' },
  spec: { type, ports: [{ name: 'router-sport', port: 80, targetPort: 8000, ...(nodePort ? { nodePort } : {}) }, { name: 'lmcache-port', port: 9000, nodePort: 31999 }] },
  ...extra,
});
const node = (...addresses: [string, string][]): V1Node => ({ status: { addresses: addresses.map(([type, address]) => ({ type, address })) } });

test('routerAddress: ClusterIP is reached through a port-forward; NodePort at the node InternalIP and the router port\'s node port; LoadBalancer at its ingress', () => {
  assert.deepEqual(routerAddress(service('ClusterIP'), []), { via: 'port-forward' });
  assert.deepEqual(routerAddress(service('NodePort', {}, 31080), [node(['Hostname', 'minikube'], ['InternalIP', '192.168.49.2'])]), { via: 'node-port', url: 'http://192.168.49.2:31080' });
  assert.deepEqual(routerAddress(service('NodePort', {}, 31080), [node(['ExternalIP', 'fd00::5'])]), { via: 'node-port', url: 'http://[fd00::5]:31080' });
  assert.deepEqual(routerAddress(service('LoadBalancer', { status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } }, 31080), []), { via: 'load-balancer', url: 'http://203.0.113.7:80' });
  assert.deepEqual(routerAddress(service('LoadBalancer', { status: { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }] } } }), []), { via: 'load-balancer', url: 'http://lb.example.com:80' });
});

test('routerAddress: an address that is not there yet, or not reachable from a Service type, names CONFIG_VLLM_ROUTER_SERVICE_TYPE', () => {
  const pending = routerAddress(service('LoadBalancer', { status: { loadBalancer: {} } }), []);
  assert.equal(pending.via, 'none');
  assert.match(pending.via === 'none' ? pending.problem : '', /LoadBalancer Service whose address is still pending.*CONFIG_VLLM_ROUTER_SERVICE_TYPE to NodePort or ClusterIP/);
  const noAddress = routerAddress(service('NodePort', {}, 31080), [node(['Hostname', 'n1'])]);
  assert.match(noAddress.via === 'none' ? noAddress.problem : '', /no node lists an InternalIP or ExternalIP/);
  const external = routerAddress(service('ExternalName'), []);
  assert.match(external.via === 'none' ? external.problem : '', /of type ExternalName.*CONFIG_VLLM_ROUTER_SERVICE_TYPE/);
});
