// The .config format kconfig-conf writes (and users hand-edit):
//   CONFIG_X=y | CONFIG_X=123 | CONFIG_X="text" | # CONFIG_X is not set

export type ConfigValue = boolean | number | string;

export interface ConfigEntry {
  symbol: string;
  value: ConfigValue;
  /** The value as written, for messages. */
  raw: string;
  line: number;
}

const SET = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# CONFIG_([A-Za-z0-9_]+) is not set$/;

function unquote(symbol: string, raw: string, line: number): string {
  if (!raw.startsWith('"') || !raw.endsWith('"') || raw.length < 2) {
    throw new Error(`.config line ${line}: CONFIG_${symbol}=${raw}: the value is neither y, n, a number nor a "quoted string"; fix it with make menuconfig (or in .config)`);
  }
  return raw.slice(1, -1).replace(/\\(["\\])/g, '$1');
}

export function parseDotConfig(text: string): Map<string, ConfigEntry> {
  const entries = new Map<string, ConfigEntry>();
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.trim();
    const unset = UNSET.exec(line);
    if (unset?.[1]) {
      entries.set(unset[1], { symbol: unset[1], value: false, raw: 'n', line: i + 1 });
      return;
    }
    const set = SET.exec(line);
    if (!set?.[1] || set[2] === undefined) return;
    const raw = set[2];
    const value: ConfigValue = raw === 'y' ? true : raw === 'n' ? false : /^-?\d+$/.test(raw) ? Number(raw) : /^0x[0-9a-fA-F]+$/.test(raw) ? Number(raw) : unquote(set[1], raw, i + 1);
    entries.set(set[1], { symbol: set[1], value, raw, line: i + 1 });
  });
  return entries;
}

export function formatValue(symbol: string, value: ConfigValue): string {
  if (typeof value === 'boolean') return value ? `CONFIG_${symbol}=y` : `# CONFIG_${symbol} is not set`;
  if (typeof value === 'number') return `CONFIG_${symbol}=${value}`;
  return `CONFIG_${symbol}="${value.replace(/(["\\])/g, '\\$1')}"`;
}
