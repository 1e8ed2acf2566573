// The cluster double's scheduler and kubelet: a pod is bound to the one node
// when its requests fit the node's allocatable resources (else it stays
// Pending with a FailedScheduling event, and is tried again whenever a pod
// goes), gets its own loopback address, and each of its containers runs as a
// process of this checkout's dist/ from the command line the chart rendered
// (images.ts), with the environment the kubelet would build. The pod turns
// Ready when every container's readinessProbe passes, and not ready after
// failureThreshold failures; a container that exits is restarted. Containers
// it cannot run leave the pod Pending with the reason in an event and in the
// container's waiting state. Deleting a pod stops its processes (SIGTERM,
// SIGKILL after the grace period; SIGKILL at once for a grace period of 0).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeApiServer, KubeObject, PodLifecycle } from '../kube-api-server.js';
import { launchOf, PROJECT_IMAGE } from './images.js';
import { ContainerConfigError, containerEnv, type EnvSource, type EnvVar } from './pod-env.js';
import { probeOnce, type HttpProbe } from './probes.js';
import { fitOnNode, podRequests, type Resources } from './scheduling.js';

export interface PodRunnerOptions {
  /** The checkout whose dist/ the containers run from. */
  repo: string;
  allocatable: Resources;
  nodeName: string;
  /** Multiplies every probe delay and period: 1 is the kubelet's timing; tests take less to stay fast. */
  probeTimeScale: number;
  imagePattern?: RegExp;
  /** Pod addresses are 127.<second>.x.y. */
  addressOctet?: number;
}

interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: EnvSource[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: HttpProbe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  nodeName?: string;
}

interface RunningContainer {
  child: ChildProcess | null;
  ready: boolean;
  restarts: number;
}

interface Running {
  ns: string;
  name: string;
  ip: string;
  requests: Resources;
  containers: Map<string, RunningContainer>;
  stopping: boolean;
  timers: Set<NodeJS.Timeout>;
  log: string;
  becameReady: () => void;
  dir: string;
}

const MAX_LOG = 256 * 1024;
const key = (pod: KubeObject) => `${pod.metadata.namespace}/${pod.metadata.name}`;
const now = () => new Date().toISOString();

export class PodRunner implements PodLifecycle {
  private api: KubeApiServer | null = null;
  private readonly running = new Map<string, Running>();
  /** Pods the scheduler could not place yet, oldest first, with what makes them Ready once placed. */
  private readonly unscheduled = new Map<string, () => void>();
  private nextAddress = 2;
  private eventSeq = 0;

  constructor(private readonly o: PodRunnerOptions) {}

  attach(api: KubeApiServer): void {
    this.api = api;
  }

  /** Unscheduled pods have no address; the scheduler gives one when it binds them. */
  podIP(): undefined {
    return undefined;
  }

  start(pod: KubeObject): Promise<void> {
    return new Promise<void>((resolve) => this.schedule(pod, resolve));
  }

  async stop(pod: KubeObject, graceful: boolean): Promise<void> {
    const k = key(pod);
    this.unscheduled.delete(k);
    const r = this.running.get(k);
    if (!r) return;
    r.stopping = true;
    for (const t of r.timers) clearTimeout(t);
    const grace = graceful ? ((pod.spec as PodSpec).terminationGracePeriodSeconds ?? 30) : 0;
    await Promise.all([...r.containers.values()].map((c) => stopProcess(c.child, grace)));
    this.running.delete(k);
    await rm(r.dir, { recursive: true, force: true });
    this.retryUnscheduled();
  }

  /** How many container processes are alive. */
  processes(): number {
    return [...this.running.values()].flatMap((r) => [...r.containers.values()]).filter((c) => c.child && c.child.exitCode === null && c.child.signalCode === null).length;
  }

  /** Every pod process stopped at once (the double closing). */
  async stopAll(): Promise<void> {
    this.unscheduled.clear();
    await Promise.all([...this.running.values()].map(async (r) => {
      r.stopping = true;
      for (const t of r.timers) clearTimeout(t);
      await Promise.all([...r.containers.values()].map((c) => stopProcess(c.child, 0)));
      await rm(r.dir, { recursive: true, force: true });
    }));
    this.running.clear();
  }

  private get server(): KubeApiServer {
    if (!this.api) throw new Error('PodRunner.attach(api) first');
    return this.api;
  }

  private used(): Resources {
    let cpu = 0;
    let memory = 0;
    for (const r of this.running.values()) {
      cpu += r.requests.cpu;
      memory += r.requests.memory;
    }
    return { cpu, memory };
  }

  event(pod: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, source = 'kubelet'): void {
    const ns = pod.metadata.namespace ?? 'default';
    this.server.put({
      apiVersion: 'v1', kind: 'Event',
      metadata: { name: `${pod.metadata.name}.${(++this.eventSeq).toString(16).padStart(8, '0')}`, namespace: ns },
      involvedObject: { kind: 'Pod', namespace: ns, name: pod.metadata.name, uid: pod.metadata.uid, apiVersion: 'v1' },
      type, reason, message, source: { component: source }, firstTimestamp: now(), lastTimestamp: now(), count: 1,
    });
  }

  private schedule(pod: KubeObject, ready: () => void): void {
    const k = key(pod);
    const spec = pod.spec as PodSpec;
    const requests = podRequests(spec);
    const unfit = fitOnNode(requests, this.used(), this.o.allocatable);
    if (unfit) {
      const first = !this.unscheduled.has(k);
      this.unscheduled.set(k, ready);
      if (first) {
        this.server.updatePod(pod.metadata.namespace ?? '', pod.metadata.name, (p) => {
          p.status = { ...(p.status as object), phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: unfit, lastTransitionTime: now() }] };
        });
        this.event(pod, 'Warning', 'FailedScheduling', unfit, 'default-scheduler');
      }
      return;
    }
    this.unscheduled.delete(k);
    const n = this.nextAddress++;
    const ip = `127.${this.o.addressOctet ?? 77}.${(n >> 8) & 0xff}.${n & 0xff}`;
    const r: Running = { ns: pod.metadata.namespace ?? '', name: pod.metadata.name, ip, requests, containers: new Map(), stopping: false, timers: new Set(), log: '', becameReady: ready, dir: '' };
    this.running.set(k, r);
    const bound = this.server.updatePod(r.ns, r.name, (p) => {
      (p.spec as PodSpec).nodeName = this.o.nodeName;
      p.status = {
        ...(p.status as object), phase: 'Pending', podIP: ip, podIPs: [{ ip }], hostIP: '127.0.0.1', startTime: now(),
        conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now() }],
      };
    });
    if (!bound) return;
    this.event(bound, 'Normal', 'Scheduled', `Successfully assigned ${r.ns}/${r.name} to ${this.o.nodeName}`, 'default-scheduler');
    void this.run(bound, r);
  }

  private retryUnscheduled(): void {
    for (const [k, ready] of [...this.unscheduled]) {
      const [ns, name] = k.split('/') as [string, string];
      const pod = this.server.get('Pod', ns, name);
      if (!pod || pod.metadata.deletionTimestamp) this.unscheduled.delete(k);
      else this.schedule(pod, ready);
    }
  }

  private waiting(r: Running, container: string, reason: string, message: string): void {
    this.server.updatePod(r.ns, r.name, (p) => {
      const statuses = ((p.status as { containerStatuses?: Record<string, unknown>[] }).containerStatuses ?? []).filter((c) => c.name !== container);
      const image = (p.spec as PodSpec).containers.find((c) => c.name === container)?.image ?? '';
      statuses.push({ name: container, image, imageID: '', ready: false, started: false, restartCount: 0, state: { waiting: { reason, message } } });
      p.status = { ...(p.status as object), containerStatuses: statuses };
    });
  }

  private async run(pod: KubeObject, r: Running): Promise<void> {
    const spec = pod.spec as PodSpec;
    const launches = spec.containers.map((c) => ({ c, launch: launchOf(c, this.o.imagePattern ?? PROJECT_IMAGE) }));
    const bad = launches.filter((l) => !l.launch.ok);
    if (bad.length > 0) {
      for (const { c, launch } of bad) {
        if (launch.ok) continue;
        this.waiting(r, c.name, launch.reason, launch.message);
        this.event(pod, 'Warning', 'Failed', launch.reason === 'ErrImagePull' ? `Failed to pull image "${c.image ?? ''}": ${launch.message}` : `Error: ${launch.message}`);
      }
      return;
    }
    const envs = new Map<string, Record<string, string>>();
    for (const { c } of launches) {
      try {
        envs.set(c.name, containerEnv(pod, c, (kind, name) => this.server.get(kind, r.ns, name)));
      } catch (err) {
        if (!(err instanceof ContainerConfigError)) throw err;
        this.waiting(r, c.name, 'CreateContainerConfigError', err.message);
        this.event(pod, 'Warning', 'Failed', `Error: ${err.message}`);
        return;
      }
    }
    r.dir = await mkdtemp(join(tmpdir(), `pod-${r.name.slice(0, 40)}-`));
    const kubeconfig = await this.server.writeKubeconfig(join(r.dir, 'kubeconfig'), r.ns);
    // Deleted meanwhile: stop() found no directory yet to remove.
    if (r.stopping) {
      await rm(r.dir, { recursive: true, force: true });
      return;
    }
    this.server.updatePod(r.ns, r.name, (p) => {
      p.status = {
        ...(p.status as object), phase: 'Running',
        conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Initialized', status: 'True' }, { type: 'ContainersReady', status: 'False' }, { type: 'Ready', status: 'False' }],
        containerStatuses: spec.containers.map((c) => ({ name: c.name, image: c.image ?? '', imageID: '', ready: false, started: true, restartCount: 0, state: { running: { startedAt: now() } } })),
      };
    });
    for (const { c, launch } of launches) {
      if (!launch.ok) continue;
      const rc: RunningContainer = { child: null, ready: false, restarts: 0 };
      r.containers.set(c.name, rc);
      const env = { ...(envs.get(c.name) ?? {}), KUBECONFIG: kubeconfig };
      this.launch(pod, r, c, rc, launch.script, launch.args, env);
      this.probe(pod, r, c, rc, true);
    }
  }

  private launch(pod: KubeObject, r: Running, c: Container, rc: RunningContainer, script: string, args: string[], env: Record<string, string>): void {
    // The pod's own address for its servers, and the cluster's DNS for Service names.
    const preloads = ['./bind-pod-ip.js', './cluster-dns.js'].flatMap((p) => ['--import', new URL(p, import.meta.url).href]);
    const child = spawn(process.execPath, [...preloads, join(this.o.repo, script), ...args], {
      cwd: r.dir, stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: r.dir, HOSTNAME: r.name, NODE_ENV: 'production', ...env,
        CLUSTER_DOUBLE_POD_IP: r.ip, CLUSTER_DOUBLE_API: this.server.url, CLUSTER_DOUBLE_POD_NAMESPACE: r.ns,
        // The double's clock, for stand-ins whose originals wait (a controller's requeue period).
        CLUSTER_DOUBLE_TIME_SCALE: String(this.o.probeTimeScale),
      },
    });
    rc.child = child;
    const append = (chunk: Buffer) => {
      r.log = (r.log + chunk.toString('utf8')).slice(-MAX_LOG);
      this.server.setPodLog(r.ns, r.name, r.log);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
    child.on('exit', (code, signal) => {
      if (r.stopping) return;
      // restartPolicy Always: the kubelet starts the container again (after a back-off).
      rc.restarts++;
      rc.ready = false;
      this.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} (exit ${code ?? signal})`);
      this.setReady(r);
      const t = setTimeout(() => {
        r.timers.delete(t);
        if (!r.stopping) this.launch(pod, r, c, rc, script, args, env);
      }, 1000);
      r.timers.add(t);
    });
  }

  /** The readiness probe at its period: failureThreshold failures make the container not ready, one success ready. */
  private probe(pod: KubeObject, r: Running, c: Container, rc: RunningContainer, first: boolean): void {
    const p = c.readinessProbe ?? {};
    const scale = this.o.probeTimeScale;
    const delay = (first ? (p.initialDelaySeconds ?? 0) : (p.periodSeconds ?? 10)) * 1000 * scale;
    let failures = 0;
    const tick = async () => {
      if (r.stopping) return;
      const ok = c.readinessProbe ? await probeOnce(r.ip, c.readinessProbe, c.ports) : rc.child !== null && rc.child.exitCode === null;
      if (r.stopping) return;
      failures = ok ? 0 : failures + 1;
      const was = rc.ready;
      if (ok) rc.ready = true;
      else if (failures >= (p.failureThreshold ?? 3)) rc.ready = false;
      if (rc.ready !== was) this.setReady(r);
      if (!ok && failures === 1 && !was) this.event(pod, 'Warning', 'Unhealthy', `Readiness probe failed: ${c.name} did not answer GET ${p.httpGet?.path ?? '/'} on ${r.ip}`);
      const t = setTimeout(() => {
        r.timers.delete(t);
        void tick();
      }, (p.periodSeconds ?? 10) * 1000 * scale);
      r.timers.add(t);
    };
    const t = setTimeout(() => {
      r.timers.delete(t);
      void tick();
    }, delay);
    r.timers.add(t);
  }

  private setReady(r: Running): void {
    const all = [...r.containers.values()].every((c) => c.ready);
    const pod = this.server.get('Pod', r.ns, r.name);
    if (!pod || pod.metadata.deletionTimestamp) return;
    if (all) {
      r.becameReady();
      this.server.setPodReady(r.ns, r.name, true);
    } else {
      this.server.setPodReady(r.ns, r.name, false);
    }
    this.server.updatePod(r.ns, r.name, (p) => {
      const statuses = (p.status as { containerStatuses?: { name: string; ready: boolean; restartCount: number }[] }).containerStatuses ?? [];
      for (const s of statuses) {
        const rc = r.containers.get(s.name);
        if (rc) {
          s.ready = rc.ready;
          s.restartCount = rc.restarts;
        }
      }
      (p.status as Record<string, unknown>).podIP = r.ip;
    });
  }
}

async function stopProcess(child: ChildProcess | null, graceSeconds: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(graceSeconds > 0 ? 'SIGTERM' : 'SIGKILL');
  if (graceSeconds > 0) {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceSeconds * 1000);
    await exited;
    clearTimeout(timer);
  } else {
    await exited;
  }
}
