// Preloaded (node --import) into every pod process of the cluster double: the
// cluster's DNS, as CoreDNS answers a pod from the API's Services. A Service
// name, bare (the pod's namespace, as resolv.conf's search path gives it),
// `svc.ns`, `svc.ns.svc` or `svc.ns.svc.cluster.local`, resolves to the
// Service's cluster IP, where the double's kube-proxy listens
// (service-proxy.ts); any other name, or a Service that does not exist, goes
// to the host's resolver. Answers are cached for 5 s, CoreDNS's default TTL.
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { get } from 'node:http';

const api = process.env.CLUSTER_DOUBLE_API;
const podNamespace = process.env.CLUSTER_DOUBLE_POD_NAMESPACE ?? 'default';
const TTL_MS = 5_000;
const DOMAIN = 'cluster.local';

/** The Service a name means in the pod's namespace, or null when it cannot be one. */
export function serviceOf(name: string, namespace: string): { namespace: string; name: string } | null {
  const parts = name.toLowerCase().replace(/\.$/, '').split('.');
  const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  if (!parts.every((p) => label.test(p))) return null;
  const rest = parts.slice(2).join('.');
  if (parts.length === 1) return { namespace, name: parts[0] as string };
  if (parts.length === 2 || rest === 'svc' || rest === `svc.${DOMAIN}`) return { namespace: parts[1] as string, name: parts[0] as string };
  return null;
}

const cache = new Map<string, { ip: string | null; until: number }>();

function clusterIp(svc: { namespace: string; name: string }): Promise<string | null> {
  const key = `${svc.namespace}/${svc.name}`;
  const hit = cache.get(key);
  if (hit && hit.until > Date.now()) return Promise.resolve(hit.ip);
  return new Promise((resolve) => {
    const req = get(`${api}/api/v1/namespaces/${svc.namespace}/services/${svc.name}`, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => {
        let ip: string | null = null;
        if (res.statusCode === 200) {
          const found = (JSON.parse(body) as { spec?: { clusterIP?: string } }).spec?.clusterIP;
          if (found && found !== 'None') ip = found;
        }
        cache.set(key, { ip, until: Date.now() + TTL_MS });
        resolve(ip);
      });
    });
    req.on('error', () => resolve(null));
  });
}

type Callback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

if (api) {
  const hostLookup = dns.lookup;
  const lookup = function (this: unknown, hostname: string, options: LookupOptions | number | Callback, callback?: Callback): void {
    const cb = (typeof options === 'function' ? options : callback) as Callback;
    const opts: LookupOptions = typeof options === 'object' ? options : typeof options === 'number' ? { family: options } : {};
    const svc = serviceOf(hostname, podNamespace);
    const fallback = () => (hostLookup as (...a: unknown[]) => void).call(this, hostname, options, callback);
    if (!svc || hostname === 'localhost') {
      fallback();
      return;
    }
    void clusterIp(svc).then((ip) => {
      if (ip === null) fallback();
      else if (opts.all) cb(null, [{ address: ip, family: 4 }]);
      else cb(null, ip, 4);
    });
  };
  dns.lookup = lookup as typeof dns.lookup;
}
