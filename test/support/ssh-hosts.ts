// SSH test hosts: each a network namespace (a veth pair to this machine, an
// address of its own) running Debian's sshd with a host key and a client key
// made for the run, plus an ssh config file that Ansible uses (ANSIBLE_SSH_ARGS).
// The hosts share this machine's filesystem but for their node dir: each
// sshd runs in a mount namespace of its own where the node dir's parent is a
// directory private to that host, so that two hosts given the same
// CONFIG_VLLM_NODE_DIR never share it and the controller does not see it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $, which } from 'zx';
import { configureOnPorts, tempProject, type TempProject } from './temp-project.js';

export interface SshHost {
  netns: string;
  /** This machine's end of the host's veth pair. */
  veth: string;
  /** The host's address, which Ansible and the controller's tools reach. */
  address: string;
  /** Where the host's private directory (its view of `nodeRoot`) lives on this machine. */
  privateDir: string;
  sshd: ChildProcess;
}

export interface SshHosts {
  hosts: SshHost[];
  /** A directory whose content differs on every host (and is empty here): put CONFIG_VLLM_NODE_DIR under it. */
  nodeRoot: string;
  /** What make needs in its environment for Ansible to reach the hosts. */
  env: Record<string, string>;
  /** Stops a host's sshd: it refuses SSH from then on (its stack keeps running). */
  stopSsh(host: SshHost): Promise<void>;
  /** Cuts a host off mid-run: its link down (no route to it), open SSH sessions closed, its sshd stopped. */
  cut(host: SshHost): Promise<void>;
  /** Pids of every process in the host's namespace but its sshd and that sshd's sessions. */
  nodeProcesses(host: SshHost): Promise<NodeProcess[]>;
  remove(): Promise<void>;
}

export interface NodeProcess {
  pid: number;
  exe: string;
  argv: string[];
  cwd: string;
}

/** Why SSH test hosts cannot be made here, or null. */
export async function sshHostsMissing(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'SSH test hosts need root (network namespaces, sshd)';
  for (const [tool, pkg] of [['ip', 'iproute2'], ['unshare', 'util-linux'], ['ssh', 'openssh-client'], ['ssh-keygen', 'openssh-client']] as const) {
    if (!(await which(tool, { nothrow: true }))) return `${tool} is not installed (apt-get install ${pkg})`;
  }
  const sshd = await readlink('/usr/sbin/sshd').catch((err: NodeJS.ErrnoException) => (err.code === 'EINVAL' ? '/usr/sbin/sshd' : null));
  if (!sshd) return '/usr/sbin/sshd is not installed (make deps installs openssh-server)';
  return null;
}

/** Waits for sshd's "Server listening" line on stderr (it logs there with -e). */
function listening(child: ChildProcess, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (/Server listening on/.test(seen)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`sshd of ${what} exited (${code}) before listening:\n${seen}`)));
  });
}

const SUBNETS = join(tmpdir(), 'vd-subnets');

/**
 * A 10.231.<n> subnet no other test process holds (a file per subnet, created
 * exclusively, naming the holder; reclaimed once the holder is gone), so that
 * test files making hosts at the same time never share addresses.
 */
async function reserveSubnet(reserved: string[]): Promise<string> {
  await mkdir(SUBNETS, { recursive: true });
  for (let k = 0; k < 250; k++) {
    const n = (process.pid + k) % 250;
    const file = join(SUBNETS, String(n));
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      reserved.push(file);
      return `10.231.${n}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(await readFile(file, 'utf8').catch(() => '0'));
      let alive = holder > 0;
      try {
        if (alive) process.kill(holder, 0);
      } catch {
        alive = false;
      }
      if (!alive) {
        await rm(file, { force: true });
        k--;
      }
    }
  }
  throw new Error(`no free 10.231.x subnet for SSH test hosts (${SUBNETS} holds every one)`);
}

/**
 * `count` hosts named <prefix>-<id>-<i>, each on its own 10.231.<n>.2 (this machine 10.231.<n>.1).
 * A test file gives a prefix of its own so that its hosts' names never meet another file's.
 */
export async function makeSshHosts(count: number, prefix = 'vd'): Promise<SshHosts> {
  const dir = await mkdtemp(join(tmpdir(), 'vd-ssh-'));
  const id = String(process.pid % 10_000);
  const nodeRoot = join(dir, 'node-root');
  await mkdir(nodeRoot);
  await mkdir('/run/sshd', { recursive: true });
  await $({ quiet: true })`ssh-keygen -q -t ed25519 -N '' -C vd-host -f ${join(dir, 'host_key')}`;
  await $({ quiet: true })`ssh-keygen -q -t ed25519 -N '' -C vd-client -f ${join(dir, 'id')}`;
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'id.pub')));
  const sshConfig = join(dir, 'ssh_config');
  await writeFile(sshConfig, [
    'Host 10.231.*',
    '  User root',
    `  IdentityFile ${join(dir, 'id')}`,
    '  IdentitiesOnly yes',
    '  StrictHostKeyChecking no',
    '  UserKnownHostsFile /dev/null',
    '  LogLevel ERROR',
    '  ConnectTimeout 10',
    // One connection per host for all of Ansible's tasks; closed by remove().
    '  ControlMaster auto',
    `  ControlPath ${join(dir, 'cm-%C')}`,
    '  ControlPersist 60s',
    '',
  ].join('\n'));
  const hosts: SshHost[] = [];
  const made: { netns: string; veth: string }[] = [];
  const reserved: string[] = [];
  const remove = async () => {
    for (const h of hosts) {
      await $({ quiet: true, nothrow: true })`ssh -F ${sshConfig} -O exit ${h.address}`;
      h.sshd.kill('SIGTERM');
    }
    for (const m of made) {
      // Whatever the test left running there (a stack whose teardown failed).
      const pids = (await $({ quiet: true, nothrow: true })`ip netns pids ${m.netns}`).stdout.split('\n').filter(Boolean);
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      await $({ quiet: true, nothrow: true })`ip link del ${m.veth}`;
      await $({ quiet: true, nothrow: true })`ip netns del ${m.netns}`;
    }
    await rm(dir, { recursive: true, force: true });
    await Promise.all(reserved.map((r) => rm(r, { force: true })));
  };
  try {
    for (let i = 0; i < count; i++) {
      const netns = `${prefix}-${id}-${i}`;
      const veth = `${prefix}${id}h${i}`;
      const peer = `${prefix}${id}n${i}`;
      const subnet = await reserveSubnet(reserved);
      const address = `${subnet}.2`;
      await $({ quiet: true })`ip netns add ${netns}`;
      made.push({ netns, veth });
      await $({ quiet: true })`ip link add ${veth} type veth peer name ${peer}`;
      await $({ quiet: true })`ip link set ${peer} netns ${netns}`;
      await $({ quiet: true })`ip addr add ${subnet}.1/30 dev ${veth}`;
      await $({ quiet: true })`ip link set ${veth} up`;
      await $({ quiet: true })`ip netns exec ${netns} ip addr add ${address}/30 dev ${peer}`;
      await $({ quiet: true })`ip netns exec ${netns} ip link set ${peer} up`;
      await $({ quiet: true })`ip netns exec ${netns} ip link set lo up`;
      const privateDir = join(dir, `host-${i}`);
      await mkdir(privateDir);
      const config = join(dir, `sshd_config-${i}`);
      await writeFile(config, [
        `ListenAddress ${address}`,
        `HostKey ${join(dir, 'host_key')}`,
        `PidFile ${join(dir, `sshd-${i}.pid`)}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        // The key files are in a temp dir, not in a home directory sshd would check.
        'StrictModes no',
        'Subsystem sftp internal-sftp',
        '',
      ].join('\n'));
      // The private node root, then sshd in its place (exec: the child's pid is sshd's).
      const sshd = spawn('ip', ['netns', 'exec', netns, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c',
        'mount --bind "$1" "$2" && exec /usr/sbin/sshd -D -e -f "$3"', 'sh', privateDir, nodeRoot, config], { stdio: ['ignore', 'ignore', 'pipe'] });
      const host: SshHost = { netns, veth, address, privateDir, sshd };
      hosts.push(host);
      await listening(sshd, netns);
    }
  } catch (err) {
    await remove();
    throw err;
  }
  const stopSsh = async (host: SshHost) => {
    await $({ quiet: true, nothrow: true })`ssh -F ${sshConfig} -O exit ${host.address}`;
    const exited = new Promise((resolve) => host.sshd.once('exit', resolve));
    host.sshd.kill('SIGTERM');
    await exited;
  };
  return {
    hosts,
    nodeRoot,
    env: { ANSIBLE_SSH_ARGS: `-F ${sshConfig}` },
    stopSsh,
    async cut(host) {
      // The link first, so that no new connection gets through while the sessions close.
      await $({ quiet: true })`ip link set ${host.veth} down`;
      await stopSsh(host);
    },
    async nodeProcesses(host) {
      const out: NodeProcess[] = [];
      const pids = (await $({ quiet: true })`ip netns pids ${host.netns}`).stdout.split('\n').filter(Boolean).map(Number);
      for (const pid of pids) {
        try {
          const exe = await readlink(`/proc/${pid}/exe`);
          if (exe === '/usr/sbin/sshd') continue;
          const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
          out.push({ pid, exe, argv, cwd: await readlink(`/proc/${pid}/cwd`) });
        } catch {
          // Ended while we looked.
        }
      }
      return out;
    },
    remove,
  };
}

/** Declared hosts on the two SSH test hosts, each with its node dir under the hosts' private root. */
export async function declaredProject(hosts: SshHosts, spec: string, edit: Record<string, string | number | boolean> = {}): Promise<{ p: TempProject; nodeDir: string }> {
  const p = await tempProject(hosts.env);
  const nodeDir = join(hosts.nodeRoot, 'vllm-harness');
  // Ports need not be free here: each host has a network of its own.
  await configureOnPorts(p, spec, 8400, {
    VLLM_DECLARED_HOSTS: hosts.hosts.map((h) => h.address).join(','), VLLM_NODE_DIR: nodeDir, ...edit,
  });
  return { p, nodeDir };
}

