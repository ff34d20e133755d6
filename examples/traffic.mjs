#!/usr/bin/env node
/**
 * Live traffic for the bundled example repo: what the shop's apps would send to the router, so Data
 * Capture fills up, replay has real requests to send, and a rollout's live watch has something to
 * watch. Independent of mlp (plain HTTP to the router), Node 20+, no dependencies.
 *
 *   node examples/traffic.mjs [--router http://127.0.0.1:8080] [--rate 20] [--duration 60s]
 *
 * Every second it sends `--rate` requests to each target (each city of demand-forecast, churn-risk),
 * spread over the second, and every 5 s prints one line per target: requests, answers by status and
 * which version gave them (the router's X-Mlp-Variant header). demand-forecast requests ask for a week
 * of the year and name the sales channel they come from (X-Channel: web, app or store), as the shop's
 * website, mobile app and in-store tills do; churn-risk requests describe a customer.
 * MLP_SERVE_TOKEN, when set, is sent as the serving token. Stops on SIGINT / SIGTERM or after --duration.
 */
import { parseArgs } from 'node:util';

const HELP = `usage: node examples/traffic.mjs [--router URL] [--rate N] [--duration 60s] [--quiet]

  --router URL     the router (default: MLP_SERVE_URL, else http://127.0.0.1:8080)
  --rate N         requests per second to each target (default 20)
  --duration D     stop after D (e.g. 90s, 5m; default: until stopped)
  --quiet          no summary lines`;

const CITIES = ['berlin', 'london', 'paris'];
const CHANNELS = [
  ['web', 0.5],
  ['app', 0.3],
  ['store', 0.2],
];
const PLANS = [
  ['basic', 0.5],
  ['plus', 0.35],
  ['pro', 0.15],
];

/** What each pipeline of the bundled repo is asked, per target (pipeline, group). */
const TARGETS = [
  ...CITIES.map((city) => ({
    pipeline: 'demand-forecast',
    group: city,
    request: () => ({ body: { week: 1 + Math.floor(Math.random() * 52) }, headers: { 'x-channel': pick(CHANNELS) } }),
  })),
  {
    pipeline: 'churn-risk',
    group: 'default',
    request: () => {
      const plan = pick(PLANS);
      return {
        body: {
          tenure_months: Math.max(1, Math.round(-20 * Math.log(1 - Math.random()))),
          monthly_spend: Math.round(({ basic: 19, plus: 39, pro: 89 }[plan] + gauss() * 6) * 100) / 100,
          support_tickets: Math.min(12, Math.floor(-1.5 * Math.log(1 - Math.random()))),
          plan,
        },
        headers: {},
      };
    },
  },
];

function pick(weighted) {
  let r = Math.random();
  for (const [value, share] of weighted) if ((r -= share) < 0) return value;
  return weighted[weighted.length - 1][0];
}

function gauss() {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

function parseDuration(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`--duration: '${text}' is not a duration like 90s or 5m`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]];
}

function main() {
  const { values } = parseArgs({
    options: {
      router: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const router = (values.router ?? process.env.MLP_SERVE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  const rate = Number(values.rate ?? 20);
  if (!(rate > 0)) throw new Error(`--rate: '${values.rate}' must be a number above 0`);
  const token = process.env.MLP_SERVE_TOKEN;

  const stats = new Map(TARGETS.map((t) => [t, { sent: 0, statuses: new Map(), variants: new Map(), failures: 0, lastFailure: '' }]));
  const send = async (t) => {
    const s = stats.get(t);
    const { body, headers } = t.request();
    s.sent++;
    try {
      const res = await fetch(`${router}/endpoints/${t.pipeline}/groups/${encodeURIComponent(t.group)}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      await res.arrayBuffer();
      s.statuses.set(res.status, (s.statuses.get(res.status) ?? 0) + 1);
      const variant = res.headers.get('x-mlp-variant') ?? 'none';
      s.variants.set(variant, (s.variants.get(variant) ?? 0) + 1);
    } catch (err) {
      s.failures++;
      s.lastFailure = err.cause?.message ?? err.message;
    }
  };

  const timers = TARGETS.map((t) => setInterval(() => void send(t), 1000 / rate));
  const report = setInterval(() => {
    if (values.quiet) return;
    for (const [t, s] of stats) {
      const statuses = [...s.statuses]
        .sort((a, b) => a[0] - b[0])
        .map(([code, n]) => `${code}: ${n}`)
        .join(', ');
      const variants = [...s.variants].map(([v, n]) => `${v}: ${n}`).join(', ');
      console.log(
        `${t.pipeline}/${t.group}: ${s.sent} sent; ${statuses || 'no answers'}${s.failures ? `; ${s.failures} unanswered (${s.lastFailure})` : ''}; by version ${variants || '-'}`,
      );
      s.sent = 0;
      s.failures = 0;
      s.statuses.clear();
      s.variants.clear();
    }
  }, 5000);
  const stop = () => {
    for (const t of timers) clearInterval(t);
    clearInterval(report);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (values.duration) setTimeout(stop, parseDuration(values.duration)).unref();
  if (!values.quiet) console.log(`sending ${rate} requests/s to each of ${TARGETS.length} targets through ${router}`);
}

try {
  main();
} catch (err) {
  console.error(`traffic: ${err.message}`);
  process.exit(2);
}
