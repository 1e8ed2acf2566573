#!/usr/bin/env node
// Builds the bundle of node-side tools make bringup ships to declared hosts:
// compiled tools and services, the schemas and observability files they read,
// and the production dependencies, as a reproducible tarball (sorted, no
// owners or times) whose sha256 is its version.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseCli, runMain } from './lib/cli.js';
import { execOk } from './lib/exec.js';
import { BUNDLE_FILES, productionModules } from './lib/deployment/index.js';
import { writeFileAtomic } from './lib/atomic-write.js';

const USAGE = `usage: vllm-bundle --out FILE.tar.gz

Packs the node-side tools for declared hosts from the project in the current directory
(run make build first) into FILE.tar.gz, and its sha256 into FILE.tar.gz.sha256.
make bringup builds it when the configuration names declared hosts.`;

async function main(): Promise<void> {
  const { values } = parseCli(USAGE, { out: { type: 'string' } });
  if (!values.out) throw new Error(`--out FILE.tar.gz is required\n\n${USAGE}`);
  const out = resolve(values.out);
  const topdir = process.cwd();
  const lock = JSON.parse(await readFile(join(topdir, 'package-lock.json'), 'utf8')) as Parameters<typeof productionModules>[0];
  // Optional dependencies of other platforms are in the lock but not installed.
  const modules = productionModules(lock).filter((m) => existsSync(join(topdir, m)));
  const missing = BUNDLE_FILES.filter((f) => !existsSync(join(topdir, f)));
  if (missing.length > 0) throw new Error(`cannot build the node bundle: ${missing.join(', ')} missing; run make build`);
  const tmp = `${out}.${process.pid}.tmp`;
  await execOk('mkdir', ['-p', dirname(out)]);
  try {
    // -h: the project's dist and node_modules may be symlinks (a test project's are).
    await execOk('tar', ['--create', '--file', tmp, '--use-compress-program', 'gzip -n', '--dereference', '--sort=name', '--mtime=@0',
      '--owner=0', '--group=0', '--numeric-owner', '--exclude=.bin', '-C', topdir, ...BUNDLE_FILES, ...modules]);
    const hash = createHash('sha256').update(await readFile(tmp)).digest('hex');
    await rename(tmp, out);
    await writeFileAtomic(`${out}.sha256`, `${hash}\n`);
    console.log(`node bundle ${hash.slice(0, 12)}: ${BUNDLE_FILES.length} project paths and ${modules.length} production dependencies in ${values.out}`);
  } finally {
    await rm(tmp, { force: true });
  }
}

runMain(main);
