// Structured request and event logs, text or JSON. Authorization never
// appears: the router logs no headers.
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export class Logger {
  constructor(private readonly format: 'text' | 'json', private readonly level: Level, private readonly out: (line: string) => void = (l) => process.stdout.write(l)) {}

  enabled(level: Level): boolean {
    return ORDER[level] >= ORDER[this.level];
  }

  log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
    if (!this.enabled(level)) return;
    const time = new Date().toISOString();
    if (this.format === 'json') this.out(`${JSON.stringify({ time, level, message, ...fields })}\n`);
    else this.out(`${time} ${level.toUpperCase()} ${message}${Object.entries(fields).map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join('')}\n`);
  }
}
