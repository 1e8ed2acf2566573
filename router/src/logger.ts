// Structured request and event logs, text or JSON. Authorization never
// appears: the router logs no headers. A value a client chose (a request id,
// a session id) is quoted in text logs when it holds anything but visible
// characters, so it cannot forge a field or a line.
export type Level = 'debug' | 'info' | 'warn' | 'error' | 'critical';
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3, critical: 4 };
const PLAIN = /^[\x21-\x7e]+$/;

/** A value as it may stand in a text log line: itself when plain, else JSON-quoted. */
export function textValue(v: unknown): string {
  if (typeof v === 'string') return PLAIN.test(v) && !v.includes('"') && !v.includes('=') ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? 'null';
}

export class Logger {
  constructor(private readonly format: 'text' | 'json', private readonly level: Level, public output: (line: string) => void = (l) => process.stdout.write(l)) {}

  enabled(level: Level): boolean {
    return ORDER[level] >= ORDER[this.level];
  }

  /** In text format the message is written as given: it must hold only the router's own words or values passed through textValue. */
  log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
    if (!this.enabled(level)) return;
    const time = new Date().toISOString();
    if (this.format === 'json') this.output(`${JSON.stringify({ time, level, message, ...fields })}\n`);
    else this.output(`${time} ${level.toUpperCase()} ${message}${Object.entries(fields).map(([k, v]) => ` ${k}=${textValue(v)}`).join('')}\n`);
  }
}
