/** `mlp tail <pipeline> [-f] [--since 10m]`: a pipeline's step output and daemon lines. */
import type { LogLineView } from '../../shared/protocol.js';
import { clientSettings, connect } from '../client.js';

/** Lines shown without --since: the most recent ones. */
const DEFAULT_LINES = 200;

export async function tail(pipeline: string, opts: { follow: boolean; sinceMs?: number; json: boolean }): Promise<number> {
  const conn = await connect(clientSettings());
  const colour = !opts.json && process.stdout.isTTY === true && !process.env.NO_COLOR;
  const print = (line: LogLineView) => {
    process.stdout.write((opts.json ? JSON.stringify(line) : formatLogLine(line, colour)) + '\n');
  };
  try {
    const live: LogLineView[] = [];
    let replayed = false;
    if (opts.follow) {
      conn.onEvent((event) => {
        if (event.kind !== 'log' || event.pipeline !== pipeline) return;
        const line = { id: 0, ...event };
        if (replayed) print(line);
        else live.push(line);
      });
    }
    const stored = await conn.tail(pipeline, {
      ...(opts.sinceMs !== undefined ? { sinceMs: Date.now() - opts.sinceMs, limit: 10_000 } : { limit: DEFAULT_LINES }),
      follow: opts.follow,
    });
    for (const line of stored) print(line);
    // Events that raced the stored answer are printed after it, once.
    replayed = true;
    for (const line of live) print(line);
    if (!opts.follow) return 0;
    return await new Promise<number>((resolve) => {
      process.once('SIGINT', () => resolve(0));
      // `closed` never rejects; whichever comes first, Ctrl-C or the daemon leaving, settles the answer.
      void conn.closed.then((reason) => {
        process.stderr.write(`mlp tail: mlpd closed the connection (${reason})\n`);
        resolve(3);
      });
    });
  } finally {
    conn.close();
  }
}

const ESC = '\u001b[';
const paint = (code: string, text: string, on: boolean) => (on ? `${ESC}${code}m${text}${ESC}0m` : text);

/** `TIME group/step | line`; on a terminal the time is dim, the source cyan, stderr red, daemon lines yellow. */
export function formatLogLine(line: LogLineView, colour: boolean): string {
  const time = new Date(line.at).toISOString();
  const source = line.stream === 'daemon' ? 'mlpd' : [line.group, line.step].filter(Boolean).join('/') || line.stream;
  const text =
    line.stream === 'stderr' ? paint('31', line.line, colour) : line.stream === 'daemon' ? paint('33', line.line, colour) : line.line;
  return `${paint('2', time, colour)} ${paint('36', source, colour)} | ${text}`;
}
