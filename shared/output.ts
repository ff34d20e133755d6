/**
 * How `mlp` and `mlpd` write their output to pipes: all of it, in order, and end only once their
 * reader has everything.
 *
 * A pipe takes 64 KiB at once; the rest of a write waits in the stream until the reader catches up.
 * process.exit() throws away what waits (that cut a piped `mlp status --json` at 65,536 bytes while
 * mlp still exited 0), and a line written to stderr meanwhile overtakes it.
 */

/** 128 + SIGPIPE: what cat, grep or git exit with when their reader goes away. */
export const READER_CLOSED_EXIT = 141;

type WhenReaderCloses = 'exit' | 'keep-running';
let whenReaderCloses: WhenReaderCloses = 'exit';

/**
 * Makes a reader that stops early (`mlp tail x --since 1h | head -1`) end the program quietly, with
 * READER_CLOSED_EXIT, as it ends cat; unhandled, the EPIPE error would print a stack trace.
 */
export function handleClosedReader(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      if (whenReaderCloses === 'exit') process.exit(READER_CLOSED_EXIT);
    });
  }
}

/**
 * For a program whose output is a side show (the daemon's log): it keeps serving when the reader of
 * its output goes away, and drops the lines no one reads.
 */
export function keepRunningWhenReaderCloses(): void {
  whenReaderCloses = 'keep-running';
}

/** Ends the process with `code` once stdout and stderr have handed all that was written to them over. */
export async function exitWhenWritten(code: number): Promise<never> {
  await Promise.all([written(process.stdout), written(process.stderr)]);
  process.exit(code);
}

/** Writes `text` and resolves once the reader has it (and all written before it). */
export function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  // A write's callback runs after those of every write queued before it. It also runs, with an
  // error, on a stream whose reader is gone: that is handled by handleClosedReader.
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

function written(stream: NodeJS.WriteStream): Promise<void> {
  return write(stream, '');
}
