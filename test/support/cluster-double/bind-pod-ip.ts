// Preloaded (node --import) into every pod process of the cluster double: a
// server told to listen on all addresses (0.0.0.0, ::, or no host), as the
// chart's `--host 0.0.0.0` says, listens on the pod's own loopback address
// instead, so pods keep their rendered command lines and still each own port
// 8000, as pods with their own network namespaces do.
import net from 'node:net';

const podIp = process.env.CLUSTER_DOUBLE_POD_IP;
const ANY = new Set(['0.0.0.0', '::', '']);

if (podIp) {
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function patched(this: net.Server, ...args: unknown[]) {
    const [first, second] = args;
    if (first !== null && typeof first === 'object' && !('_handle' in (first as object))) {
      const o = first as net.ListenOptions;
      if (o.path === undefined && (o.host === undefined || ANY.has(o.host))) args[0] = { ...o, host: podIp };
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      if (typeof second === 'string') {
        if (ANY.has(second)) args[1] = podIp;
      } else {
        args.splice(1, 0, podIp);
      }
    }
    return (listen as (...a: unknown[]) => net.Server).apply(this, args);
  } as typeof net.Server.prototype.listen;
}
