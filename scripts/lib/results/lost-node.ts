// A node Ansible dropped mid-run (unreachable): its results step never ran, so
// the controller records it as failed from what it has of it: Ansible's
// message, and the last lines of the node's logs when a last try reaches it,
// else where those logs are on the host.

export interface LostNode {
  /** Why the node failed, with Ansible's own words. */
  reason: string;
  /** The last lines of the node's logs the controller could read, or a sentence saying it could not. */
  last_lines: string[];
  /** Where the node's logs are, on the host. */
  logs: string;
}

/** One result of the playbook's last try to reach a lost node (an Ansible loop result, registered). */
export interface ProbeResult {
  /** The node's name (the loop ran over them). */
  item: string;
  unreachable?: boolean;
  msg?: string;
  rc?: number;
  stdout_lines?: string[];
  stderr?: string;
}

/** Reads the registered loop results the playbook passes, refusing anything that is not. */
export function parseProbes(json: string): ProbeResult[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) throw new Error('--probes must be a JSON list of the probe task\'s loop results');
  for (const p of parsed as ProbeResult[]) {
    if (typeof p?.item !== 'string') throw new Error(`--probes: a result without the node's name as its item: ${JSON.stringify(p)}`);
  }
  return parsed as ProbeResult[];
}

/** What the run records of a node that was not collected, from the last try to reach it. */
export function lostNode(probe: ProbeResult, logs: string): LostNode {
  if (probe.unreachable) {
    return {
      reason: `unreachable: ${(probe.msg ?? 'Ansible gave no message').trim()}; its results step did not run`,
      last_lines: [`no log line: the host cannot be reached; its logs are on the host in ${logs}`],
      logs,
    };
  }
  const lines = probe.rc === 0 ? (probe.stdout_lines ?? []) : [];
  return {
    reason: 'lost mid-run: Ansible dropped it (see its message above) before its results step ran; the host answers again now',
    last_lines: lines.length > 0 ? lines : [`no log line could be read (${(probe.stderr ?? probe.msg ?? '').trim() || 'none written'}); the logs are on the host in ${logs}`],
    logs,
  };
}

/**
 * What the run records of a node still incomplete once Ansible itself has stopped: when every
 * node of the play is lost, Ansible ends the playbook before the play that looks for lost nodes.
 */
export function stoppedNode(logs: string): LostNode {
  return {
    reason: 'the run stopped before its results step: Ansible ended the play, every node of it failed or unreachable (its message is above)',
    last_lines: [`no log line came home; its logs are on the node in ${logs}`],
    logs,
  };
}

/** The lines make prints for a lost node. */
export function formatLost(node: string, lost: LostNode): string[] {
  return [`${node}: FAILED, ${lost.reason}`, `${node}: last log lines:`, ...lost.last_lines.map((l) => `  ${l}`)];
}
