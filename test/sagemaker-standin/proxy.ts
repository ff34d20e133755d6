/** Passes a request on to moto unchanged (moto checks no signatures) and its answer back unchanged. */
import { request, type IncomingMessage, type ServerResponse } from 'node:http';

export function forward(motoUrl: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
  const target = new URL(motoUrl);
  // The body was read whole: it goes on with its length, not chunked, and no 100-continue is awaited.
  const { 'transfer-encoding': _chunked, expect: _continue, ...headers } = req.headers;
  return new Promise((resolve) => {
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...headers, host: target.host, 'content-length': String(body.length) },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', resolve);
        answer.on('error', () => resolve());
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`the SageMaker stand-in could not reach moto at ${motoUrl}: ${err.message}`);
      resolve();
    });
    upstream.end(body);
  });
}
