// A model server for the replay tests (the SageMaker container contract: GET /ping, POST /invocations), run as its own process.
// A request is {"x": n} (anything else gets a 400); the answer is {"y": n * SCALE + OFFSET, "label": ...}.
// Its environment picks the behaviour:
//   FAIL_MOD=k       500 when n % k == 0 (a candidate that regresses on part of the traffic)
//   FLAKY_MOD=k      500 the first time it sees an n with n % k == 0, fine after (a flaky failure)
//   FAIL_AGAIN_MOD=k 500 the second time it sees an n with n % k == 0 (a current model that fails on the retry)
//   DELAY_MS=ms      answers after this long (with SLOW_MOD=k, only when n % k == 0)
//   LABELS=a,b       label = LABELS[n % count]
// GET /stats says how many invocations and connections it has seen. Prints its port once it listens.
import http from 'node:http';

const env = (k) => (process.env[k] === undefined ? undefined : Number(process.env[k]));
const scale = env('SCALE') ?? 1;
const offset = env('OFFSET') ?? 0;
const failMod = env('FAIL_MOD');
const flakyMod = env('FLAKY_MOD');
const failAgainMod = env('FAIL_AGAIN_MOD');
const delayMs = env('DELAY_MS') ?? 0;
const slowMod = env('SLOW_MOD');
const labels = (process.env.LABELS ?? 'low,high').split(',');
const seen = new Map();
let invocations = 0;
let connections = 0;

const send = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/ping') return send(res, 200, { status: 'ok' });
  if (req.method === 'GET' && req.url === '/stats') return send(res, 200, { invocations, connections });
  const parts = [];
  req.on('data', (d) => parts.push(d));
  req.on('end', () => {
    invocations++;
    let ask;
    try {
      ask = JSON.parse(Buffer.concat(parts).toString());
    } catch {
      return send(res, 400, { error: 'not JSON' });
    }
    const n = ask?.x;
    if (typeof n !== 'number') return send(res, 400, { error: 'x must be a number' });
    const times = (seen.get(n) ?? 0) + 1;
    seen.set(n, times);
    const answer = () => {
      if (failMod && n % failMod === 0) return send(res, 500, { error: `cannot score x=${n}` });
      if (flakyMod && n % flakyMod === 0 && times === 1) return send(res, 500, { error: 'warming up' });
      if (failAgainMod && n % failAgainMod === 0 && times === 2) return send(res, 500, { error: 'overloaded' });
      send(res, 200, { y: n * scale + offset, label: labels[Math.abs(n) % labels.length] });
    };
    const wait = slowMod && n % slowMod !== 0 ? 0 : delayMs;
    if (wait > 0) setTimeout(answer, wait);
    else answer();
  });
});
server.on('connection', () => connections++);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
