// A model server for the router tests (the SageMaker container contract: GET /ping, POST /invocations), run as its
// own process. What it does with an invocation is chosen by the request body, so one server covers
// every case: {"sleepMs": N}, {"status": N}, {"chunks": ["a", "b"]}, {"reset": true},
// {"noLength": true} (body ends at close), {"echo": true} (custom attributes come back as `echo:<sent>`). GET /stats says how many connections and
// invocations it has seen. Prints its port on stdout once it listens.
import http from 'node:http';

const name = process.env.NAME ?? 'model';
let connections = 0;
let invocations = 0;

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/ping') return void res.end('{"status":"ok"}');
  if (req.method === 'GET' && req.url === '/stats') {
    res.setHeader('content-type', 'application/json');
    return void res.end(JSON.stringify({ connections, invocations }));
  }
  const parts = [];
  req.on('data', (d) => parts.push(d));
  req.on('end', () => {
    invocations++;
    const raw = Buffer.concat(parts);
    let ask = {};
    try {
      ask = JSON.parse(raw.toString() || '{}');
    } catch {
      // a body that is not JSON asks for nothing special: a plain answer
    }
    const answer = () => {
      if (ask.reset) return req.socket.destroy();
      const status = ask.status ?? 200;
      if (ask.echo) {
        const body = JSON.stringify({
          variant: name,
          body: raw.toString('base64'),
          headers: req.headers,
          method: req.method,
          url: req.url,
        });
        // SageMaker's custom attributes go back to the client as the model sets them: here, what it was sent.
        const attributes = req.headers['x-amzn-sagemaker-custom-attributes'];
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(attributes ? { 'x-amzn-sagemaker-custom-attributes': `echo:${attributes}` } : {}),
        });
        return void res.end(body);
      }
      if (ask.chunks) {
        res.writeHead(status, { 'content-type': 'text/plain' }); // no length: node sends it chunked
        for (const c of ask.chunks) res.write(c);
        return void res.end();
      }
      const body = JSON.stringify({ variant: name, n: invocations, ...(status >= 500 ? { error: 'model failed' } : {}) });
      if (ask.noLength)
        return void req.socket.end(`HTTP/1.1 ${status} OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n${body}`);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (ask.sleepMs) setTimeout(answer, ask.sleepMs);
    else answer();
  });
});
server.on('connection', () => connections++);
server.keepAliveTimeout = Number(process.env.KEEP_ALIVE_MS ?? 60_000);
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
