/**
 * The daemon's own log: one line per event on stderr (README.md, "Commands"), `TIME LEVEL area: message`.
 * Lines about a pipeline are also handed to listeners (the store and the API), so `mlp tail`
 * and the TUI show the same words the operator sees on the server.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogEntry {
  at: number;
  level: LogLevel;
  area: string;
  message: string;
  /** The pipeline the line is about, if any. */
  pipeline?: string;
}

export interface Logger {
  debug(area: string, message: string, pipeline?: string): void;
  info(area: string, message: string, pipeline?: string): void;
  warn(area: string, message: string, pipeline?: string): void;
  error(area: string, message: string, pipeline?: string): void;
  /** Called for every entry at or above the threshold; returns a function that unsubscribes. */
  subscribe(listener: (entry: LogEntry) => void): () => void;
}

export function createLogger(
  opts: {
    level?: LogLevel;
    write?: (line: string) => void;
    now?: () => number;
  } = {},
): Logger {
  const threshold = RANK[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = opts.now ?? Date.now;
  const listeners = new Set<(entry: LogEntry) => void>();

  const emit = (level: LogLevel) => (area: string, message: string, pipeline?: string) => {
    if (RANK[level] < threshold) return;
    const entry: LogEntry = { at: now(), level, area, message, ...(pipeline ? { pipeline } : {}) };
    const where = pipeline ? `${area} ${pipeline}` : area;
    write(`${new Date(entry.at).toISOString()} ${level.padEnd(5)} ${where}: ${message}`);
    for (const l of listeners) l(entry);
  };

  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
