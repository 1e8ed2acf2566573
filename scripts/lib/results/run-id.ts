// Run ids sort by time and never collide, so a run never overwrites another.
import { randomBytes } from 'node:crypto';

export function newRunId(now: Date = new Date(), suffix: string = randomBytes(2).toString('hex')): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const date = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}`;
  const time = `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${date}-${time}-${suffix}`;
}

const RUN_ID = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

export function assertRunId(id: string): string {
  if (!RUN_ID.test(id)) throw new Error(`"${id}" is not a run id (expected YYYYMMDD-HHMMSS-xxxx, as in results/)`);
  return id;
}
