// The few calls of Prometheus' HTTP API the harness makes (readiness,
// instant and range queries, label values, targets, alerts), each bounded by
// an explicit timeout so that a hung Prometheus never hangs a tool.
const DEFAULT_TIMEOUT_MS = 5_000;

export interface PromSample {
  labels: Record<string, string>;
  /** NaN and ±Inf come back as such; a client decides what is plausible. */
  value: number;
}

export interface PromRangeSeries {
  labels: Record<string, string>;
  values: [number, number][];
}

export interface PromTarget {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

export interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

export class PrometheusError extends Error {}

export class PrometheusApi {
  constructor(readonly url: string, private readonly timeoutMs = DEFAULT_TIMEOUT_MS) {}

  /** True when /-/ready answers 200 within the timeout. */
  async ready(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(this.timeoutMs) });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }

  async query(expr: string, time?: number): Promise<PromSample[]> {
    const params: Record<string, string> = { query: expr };
    if (time !== undefined) params.time = String(time);
    const data = await this.get<{ resultType: string; result: unknown }>('/api/v1/query', params);
    if (data.resultType === 'scalar') {
      const [, v] = data.result as [number, string];
      return [{ labels: {}, value: Number(v) }];
    }
    if (data.resultType !== 'vector') throw new PrometheusError(`${expr}: expected an instant vector, got a ${data.resultType}`);
    return (data.result as { metric: Record<string, string>; value: [number, string] }[])
      .map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
  }

  async queryRange(expr: string, start: number, end: number, stepSeconds: number): Promise<PromRangeSeries[]> {
    const data = await this.get<{ result: { metric: Record<string, string>; values: [number, string][] }[] }>('/api/v1/query_range', {
      query: expr, start: String(start), end: String(end), step: String(stepSeconds),
    });
    return data.result.map((r) => ({ labels: r.metric, values: r.values.map(([t, v]) => [t, Number(v)] as [number, number]) }));
  }

  /** Values of a label among the series that match the selector. */
  async labelValues(label: string, match: string): Promise<string[]> {
    return this.get<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values`, { 'match[]': match });
  }

  async targets(): Promise<PromTarget[]> {
    const data = await this.get<{ activeTargets: PromTarget[] }>('/api/v1/targets', { state: 'active' });
    return data.activeTargets;
  }

  async alerts(): Promise<PromAlert[]> {
    const data = await this.get<{ alerts: PromAlert[] }>('/api/v1/alerts', {});
    return data.alerts;
  }

  /** Names of the loaded alerting rules. */
  async alertRules(): Promise<string[]> {
    const data = await this.get<{ groups: { rules: { type: string; name: string }[] }[] }>('/api/v1/rules', { type: 'alert' });
    return data.groups.flatMap((g) => g.rules.map((r) => r.name));
  }

  private async get<T>(path: string, params: Record<string, string>): Promise<T> {
    const url = `${this.url}${path}?${new URLSearchParams(params).toString()}`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new PrometheusError(`Prometheus at ${this.url} does not answer ${path}: ${(err as Error).message}`);
    }
    const body = await res.json().catch(() => null) as { status?: string; data?: T; error?: string } | null;
    if (!res.ok || body?.status !== 'success') {
      throw new PrometheusError(`Prometheus at ${this.url} refused ${path} (HTTP ${res.status}): ${body?.error ?? 'no error message'}${params.query ? ` — query: ${params.query}` : ''}`);
    }
    return body.data as T;
  }
}
