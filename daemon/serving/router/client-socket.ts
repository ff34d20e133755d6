/**
 * Client sockets that read into one buffer shared by every client connection of the router, as
 * model connections do (upstream.ts). A socket net.Server makes allocates 64 KiB for every read
 * and pushes it through the readable stream; `onread` spares both, but net.Server gives no way to
 * pass it. So the server accepts with `pauseOnConnect` (nothing is read yet), and the accepted
 * socket's handle moves into a socket made with `onread`; the empty shell is destroyed, which
 * the server counts as the connection closing.
 *
 * A read is only valid until the next one: whoever keeps bytes past the callback copies them.
 * `_handle` is node's own field (checked on Node 20, which this project runs; the router tests run every path
 * through it): should it move, no client request would be read and every router test fails.
 */
import { Socket } from 'node:net';

const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** `onRead` gets each read as a view of the shared buffer; returning false pauses the socket. */
export function adoptClientSocket(accepted: Socket, onRead: (chunk: Buffer) => boolean): Socket {
  const shell = accepted as unknown as { _handle: unknown };
  const handle = shell._handle;
  shell._handle = null;
  accepted.destroy();
  return new Socket({
    handle,
    allowHalfOpen: true,
    onread: { buffer: READ_BUFFER, callback: (n: number, buf: Uint8Array) => onRead((buf as Buffer).subarray(0, n)) },
  } as ConstructorParameters<typeof Socket>[0]);
}

/** Whether `bytes` is a view of the shared read buffer (to be copied before the next read). */
export function inReadBuffer(bytes: Buffer): boolean {
  return bytes.buffer === READ_BUFFER.buffer;
}
