// One HTTP probe as the kubelet runs it: GET http://<pod IP>:<port><path>,
// success for a status from 200 to 399 within timeoutSeconds. A named port is
// looked up in the container's ports.
export interface HttpProbe {
  httpGet?: { path?: string; port: number | string; scheme?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}

export function probePort(port: number | string, ports: { name?: string; containerPort: number }[] = []): number | null {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return ports.find((p) => p.name === port)?.containerPort ?? null;
}

export async function probeOnce(ip: string, probe: HttpProbe, ports: { name?: string; containerPort: number }[] = []): Promise<boolean> {
  if (!probe.httpGet) return true;
  const port = probePort(probe.httpGet.port, ports);
  if (port === null) return false;
  const path = (probe.httpGet.path ?? '/').trim();
  try {
    const res = await fetch(`http://${ip}:${port}${path.startsWith('/') ? path : `/${path}`}`, { signal: AbortSignal.timeout((probe.timeoutSeconds ?? 1) * 1000) });
    await res.arrayBuffer();
    return res.status >= 200 && res.status < 400;
  } catch {
    return false;
  }
}
