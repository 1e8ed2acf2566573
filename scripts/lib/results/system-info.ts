// What machine a node's results came from, so that figures from different
// machines are never compared without knowing it.
import { arch, cpus, hostname, release, totalmem, type } from 'node:os';

export interface SystemInfo {
  hostname: string;
  os: string;
  kernel: string;
  arch: string;
  cpus: number;
  cpu_model: string;
  memory_bytes: number;
  node_version: string;
}

export async function systemInfo(): Promise<SystemInfo> {
  const list = cpus();
  return {
    hostname: hostname(), os: type(), kernel: release(), arch: arch(),
    cpus: list.length, cpu_model: list[0]?.model ?? 'unknown',
    memory_bytes: totalmem(), node_version: process.version,
  };
}
