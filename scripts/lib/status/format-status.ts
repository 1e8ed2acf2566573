// Status as people read it: the full per-node listing, and the short emoji
// summary kdevops users know (and its own small JSON shape for scripts).
import type { NodeState, NodeStatus, StatusReport } from './node-status.js';

const ICON: Record<NodeState, string> = { running: '🟢', degraded: '🟡', stopped: '🔴', deploying: '🔵' };
const VERDICT_ICON: Record<string, string> = { pass: '✅', fail: '❌', incomplete: '⏳', interrupted: '⏹️' };

function runLine(report: StatusReport): string {
  const run = report.last_run;
  return run ? `${VERDICT_ICON[run.verdict] ?? '❔'} last run ${run.run_id}: ${run.verdict} (${run.path})` : '📭 no run yet';
}

function engineSummary(n: NodeStatus): string {
  const models = n.models.length > 0 ? ` serving ${n.models.join(', ')}` : '';
  return `${n.engines_ready}/${n.engines_total} engines ready${models}`;
}

function heading(report: StatusReport): string {
  if (report.target === null) return 'no configuration (no .config)';
  return `${report.target} target${report.ab ? ', A/B (baseline vs dev)' : ''}`;
}

const busyLine = (n: NodeStatus) => (n.busy ? `⏳ busy: "${n.busy.command}" (pid ${n.busy.pid}) since ${n.busy.since}` : null);

export function formatSimplified(report: StatusReport): string {
  const lines = [`🚀 vLLM stack: ${heading(report)}`];
  if (report.nodes.length > 0) lines.push(formatSimplifiedNodes(report.nodes));
  lines.push(runLine(report));
  if (report.hints.length > 0) {
    lines.push('👉 next:');
    for (const h of report.hints) lines.push(`   ${h}`);
  }
  return lines.join('\n');
}

/** A few lines per node: state, router, engines, what changed, problems. */
export function formatSimplifiedNodes(nodes: NodeStatus[]): string {
  const lines: string[] = [];
  for (const n of nodes) {
    lines.push(`${ICON[n.state]} ${n.node} ${n.state}${n.configured ? '' : ' (not in the configuration)'}`);
    const busy = busyLine(n);
    if (busy) lines.push(`   ${busy}`);
    if (n.state === 'stopped') continue;
    if (n.router_url) lines.push(`   🔀 router ${n.router_url} (${n.router_impl}, ${n.routing_logic})${n.router_running === false ? ' ❌ down' : ''}`);
    lines.push(`   🧠 ${engineSummary(n)} (${n.engine_kind === 'sim' ? 'simulated' : 'vLLM'}, LMCache ${n.lmcache ? 'on' : 'off'})`);
    if (n.drift.length > 0) lines.push(`   ⚠️  configuration changed since deploy: run make vllm (${n.drift.slice(0, 3).join(', ')}${n.drift.length > 3 ? `, ${n.drift.length - 3} more: make vllm-status` : ''})`);
    for (const p of n.problems) lines.push(`   ⚠️  ${p}`);
  }
  return lines.join('\n');
}

/** The simplified status as data: one line of facts per node, for scripts that only ask "is it up?". */
export interface SimplifiedReport {
  generated_at: string;
  target: string | null;
  /** running: every node runs; stopped: none does; deploying: one is being deployed; degraded otherwise. */
  state: NodeState;
  nodes: { node: string; state: NodeState; configured: boolean; config_changed: boolean; router_url: string | null; engines_ready: number; engines_total: number; problems: string[] }[];
  last_run: { run_id: string; verdict: string } | null;
  hints: string[];
}

export function simplifiedReport(report: StatusReport): SimplifiedReport {
  const states = report.nodes.map((n) => n.state);
  const state: NodeState = states.includes('deploying') ? 'deploying'
    : states.every((s) => s === 'running') && states.length > 0 ? 'running'
      : states.every((s) => s === 'stopped') ? 'stopped' : 'degraded';
  return {
    generated_at: report.generated_at, target: report.target, state,
    nodes: report.nodes.map((n) => ({
      node: n.node, state: n.state, configured: n.configured, config_changed: n.drift.length > 0, router_url: n.router_url,
      engines_ready: n.engines_ready, engines_total: n.engines_total, problems: n.problems,
    })),
    last_run: report.last_run ? { run_id: report.last_run.run_id, verdict: report.last_run.verdict } : null,
    hints: report.hints,
  };
}

const num = (v: number | null, digits = 0) => (v === null ? '-' : v.toFixed(digits));

export function formatFull(report: StatusReport): string {
  const lines = [`vLLM stack status at ${report.generated_at}: ${heading(report)}`, formatFullNodes(report.nodes)];
  lines.push('', runLine(report));
  if (report.hints.length > 0) lines.push('next steps:', ...report.hints.map((h) => `  ${h}`));
  return lines.join('\n');
}

/** Everything known per node: work dir, deploy time, router, each engine's load, drift, problems. */
export function formatFullNodes(nodes: NodeStatus[]): string {
  const lines: string[] = [];
  for (const n of nodes) {
    lines.push('', `${ICON[n.state]} node ${n.node} (${n.role}): ${n.state}${n.configured ? '' : ', not in the configuration'}`);
    const busy = busyLine(n);
    if (busy) lines.push(`  ${busy}`);
    lines.push(`  work dir:      ${n.work_dir}`);
    if (n.deployed_at) lines.push(`  deployed at:   ${n.deployed_at}`);
    lines.push(`  router:        ${n.router_url ?? 'none (clients talk to the engine)'}${n.router_url ? ` ${n.router_impl} / ${n.routing_logic} / ${n.router_running ? 'up' : 'down'}` : ''}`);
    lines.push(`  engines:       ${engineSummary(n)}, ${n.engine_kind === 'sim' ? 'simulator' : 'vllm serve'}, LMCache ${n.lmcache ? 'on' : 'off'}`);
    if (n.prometheus_url) lines.push(`  prometheus:    ${n.prometheus_url}`);
    for (const e of n.engines) {
      const state = e.ready ? 'ready' : e.running ? 'starting' : 'not running';
      lines.push(`    ${e.id.padEnd(10)} ${e.url.padEnd(24)} ${state.padEnd(11)} running ${num(e.requests_running)} waiting ${num(e.requests_waiting)} kv ${e.kv_cache_usage_perc === null ? '-' : `${(e.kv_cache_usage_perc * 100).toFixed(1)}%`}${e.log ? `  log ${e.log}` : ''}`);
    }
    if (n.drift.length > 0) {
      lines.push('  configuration changed since deploy (deployed → configured; make vllm redeploys):');
      for (const d of n.drift) lines.push(`    ${d}`);
    }
    for (const p of n.problems) lines.push(`  problem:       ${p}`);
  }
  return lines.join('\n');
}
