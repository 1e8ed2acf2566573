// Kconfig silently resets an out-of-range value, drops an option whose
// dependencies are unmet and keeps one member of a choice: compare what was
// asked for with what kconfig-conf wrote, and name every difference.
import { formatValue, type ConfigEntry } from './dotconfig.js';
import type { KconfigSymbol } from './kconfig-tree.js';

export interface LostSetting {
  symbol: string;
  requested: string;
  result: string | null;
  reason: string;
}

function reasonFor(sym: KconfigSymbol | undefined, requested: ConfigEntry, result: ConfigEntry | undefined, all: Map<string, ConfigEntry>, tree: Map<string, KconfigSymbol>): string {
  if (!sym) return 'no such option in the Kconfig tree (misspelt, or removed)';
  if (!sym.prompt) return 'it is derived from a choice and cannot be set; set one of the choice\'s options instead';
  if (result === undefined) return `its dependencies are not met (depends on ${sym.dependsOn.join(' && ') || 'nothing'})`;
  if (sym.range && typeof requested.value === 'number' && (requested.value < sym.range[0] || requested.value > sym.range[1])) {
    return `outside its range ${sym.range[0]}..${sym.range[1]}; Kconfig would reset it to ${String(result.value)}`;
  }
  if (sym.type === 'int' && typeof requested.value !== 'number') return 'not a whole number';
  if (sym.choice) {
    const won = [...tree.values()].filter((o) => o.choice === sym.choice && o.name !== sym.name && all.get(o.name)?.value === true).map((o) => `CONFIG_${o.name}=y`);
    return `another option of the same choice won${won.length > 0 ? ` (${won.join(', ')})` : ''}: set only one option of a choice`;
  }
  return `Kconfig would change it to ${result.raw}`;
}

/**
 * Settings of `requested` that did not survive into `result`. Choice members
 * set to n are skipped when another member of their choice was requested,
 * since selecting one member unselects the others.
 */
export function lostSettings(requested: Map<string, ConfigEntry>, result: Map<string, ConfigEntry>, tree: Map<string, KconfigSymbol>): LostSetting[] {
  const lost: LostSetting[] = [];
  for (const entry of requested.values()) {
    if (!entry.symbol.startsWith('VLLM_')) continue;
    const sym = tree.get(entry.symbol);
    const got = result.get(entry.symbol);
    const same = got !== undefined ? got.value === entry.value : entry.value === false && sym?.type === 'bool';
    if (same) continue;
    if (sym && !sym.prompt && got !== undefined && got.value === entry.value) continue;
    lost.push({
      symbol: entry.symbol,
      requested: formatValue(entry.symbol, entry.value),
      result: got ? formatValue(got.symbol, got.value) : null,
      reason: reasonFor(sym, entry, got, result, tree),
    });
  }
  return lost;
}

export function describeLost(l: LostSetting): string {
  // What Kconfig would write instead, unless the reason says it already.
  const instead = l.result === null ? ' (Kconfig would drop it)' : / would (reset|change) it /.test(l.reason) ? '' : ` (Kconfig would write ${l.result})`;
  return `${l.requested} did not survive: ${l.reason}${instead}`;
}
