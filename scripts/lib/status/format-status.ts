// Status as people read it: the full per-node listing, and the short emoji
// summary kdevops users know.
import type { NodeState, NodeStatus, StatusReport } from './node-status.js';

const ICON: Record<NodeState, string> = { running: '🟢', degraded: '🟡', stopped: '🔴', deploying: '🔵' };
const VERDICT_ICON: Record<string, string> = { pass: '✅', fail: '❌', incomplete: '⏳' };

function runLine(report: StatusReport): string {
  const run = report.last_run;
  return run ? `${VERDICT_ICON[run.verdict] ?? '❔'} last run ${run.run_id}: ${run.verdict} (${run.path})` : '📭 no run yet';
}

function engineSummary(n: NodeStatus): string {
  const models = n.models.length > 0 ? ` serving ${n.models.join(', ')}` : '';
  return `${n.engines_ready}/${n.engines_total} engines ready${models}`;
}

export function formatSimplified(report: StatusReport): string {
  const lines = [`🚀 vLLM stack: ${report.target} target${report.ab ? ', A/B (baseline vs dev)' : ''}`];
  for (const n of report.nodes) {
    lines.push(`${ICON[n.state]} ${n.node} ${n.state}`);
    if (n.state === 'stopped') continue;
    if (n.router_url) lines.push(`   🔀 router ${n.router_url} (${n.router_impl}, ${n.routing_logic})${n.router_running === false ? ' ❌ down' : ''}`);
    lines.push(`   🧠 ${engineSummary(n)} (${n.engine_kind === 'sim' ? 'simulated' : 'vLLM'}, LMCache ${n.lmcache ? 'on' : 'off'})`);
    for (const p of n.problems) lines.push(`   ⚠️  ${p}`);
  }
  lines.push(runLine(report));
  if (report.hints.length > 0) {
    lines.push('👉 next:');
    for (const h of report.hints) lines.push(`   ${h}`);
  }
  return lines.join('\n');
}

const num = (v: number | null, digits = 0) => (v === null ? '-' : v.toFixed(digits));

export function formatFull(report: StatusReport): string {
  const lines = [`vLLM stack status at ${report.generated_at}: ${report.target} target${report.ab ? ', A/B' : ''}`];
  for (const n of report.nodes) {
    lines.push('', `${ICON[n.state]} node ${n.node} (${n.role}): ${n.state}`);
    lines.push(`  work dir:      ${n.work_dir}`);
    if (n.deployed_at) lines.push(`  deployed at:   ${n.deployed_at}`);
    lines.push(`  router:        ${n.router_url ?? 'none (clients talk to the engine)'}${n.router_url ? ` ${n.router_impl} / ${n.routing_logic} / ${n.router_running ? 'up' : 'down'}` : ''}`);
    lines.push(`  engines:       ${engineSummary(n)}, ${n.engine_kind === 'sim' ? 'simulator' : 'vllm serve'}, LMCache ${n.lmcache ? 'on' : 'off'}`);
    if (n.prometheus_url) lines.push(`  prometheus:    ${n.prometheus_url}`);
    for (const e of n.engines) {
      const state = e.ready ? 'ready' : e.running ? 'starting' : 'not running';
      lines.push(`    ${e.id.padEnd(10)} ${e.url.padEnd(24)} ${state.padEnd(11)} running ${num(e.requests_running)} waiting ${num(e.requests_waiting)} kv ${e.kv_cache_usage_perc === null ? '-' : `${(e.kv_cache_usage_perc * 100).toFixed(1)}%`}${e.log ? `  log ${e.log}` : ''}`);
    }
    for (const p of n.problems) lines.push(`  problem:       ${p}`);
  }
  lines.push('', runLine(report));
  if (report.hints.length > 0) lines.push('next steps:', ...report.hints.map((h) => `  ${h}`));
  return lines.join('\n');
}
