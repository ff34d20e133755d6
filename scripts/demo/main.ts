/**
 * `npm run demo [-- --headless]`: the bundled team repo under a real daemon, in a temporary folder,
 * with live traffic and three releases merged one after the other: one promoted through every gate,
 * one blocked by replay, one rolled back by the live error rate. It drives only what a user has:
 * `mlpd start`, `mlp` commands and their `--json` output, git, and the router over HTTP (through
 * examples/traffic.mjs). `--headless` plays it without waiting for Enter and exits 0 only if every
 * release ended as expected, printing their decision records. See README.md ("The demo").
 */
import { execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { PipelineView, RolloutView } from '../../shared/protocol.js';
import { RELEASES, type Ending } from './releases.js';
import { Sandbox } from './sandbox.js';
import { clock, failingRequests, followRollout } from './watch.js';

/** A 30-minute rollout step takes 5 s. */
const TIME_SCALE = 360;
/** Requests per second to each city of demand-forecast and to churn-risk. */
const TRAFFIC_RATE = 20;
/** How long live traffic runs before the first release, so replay has captured requests to send. */
const WARM_UP_MS = 8_000;
const RELEASE_TIMEOUT_MS = 120_000;

interface Outcome {
  pipeline: string;
  version: string;
  expected: Ending;
  rule: string;
  rollout: RolloutView | null;
  error?: string;
}

const headless = process.argv.includes('--headless');
let interrupt: () => void = () => process.exit(130);
const say = (line = '') => console.log(line);

async function main(): Promise<boolean> {
  const sandbox = new Sandbox();
  const outcomes: Outcome[] = [];
  let ok = false;
  // Ctrl-C (also at a prompt), a closed terminal or a kill: stop the daemon and the traffic, then go.
  interrupt = () => void sandbox.close(false).then(() => process.exit(130));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, interrupt);
  try {
    say('mlp demo: a small team repo (demand-forecast: one model per city; churn-risk: a classifier), live traffic,');
    say('and three releases merged one after the other. Every gate decides; nobody clicks "approve".');
    say();
    await sandbox.createRepo();
    const daemon = await sandbox.startDaemon(TIME_SCALE);
    say(`▸ mlpd runs on a git clone of the team repo (${sandbox.dir}), pulling every second: merging a change is the`);
    say(`  deployment. Time runs ${TIME_SCALE}× faster for rollouts: a 30-minute traffic step takes ${(30 * 60) / TIME_SCALE} s.`);
    say(`  ${daemon.apiUrl}, models served at ${daemon.serveUrl}; the daemon's log: ${sandbox.daemonLog}`);
    say();
    say('  Watch it in a second terminal (from this folder):');
    say(`      MLP_URL=${daemon.apiUrl} MLP_DATA_DIR=${sandbox.dataDir} npx mlp`);
    say();
    const gx = await greatExpectationsAvailable();
    if (!gx) {
      say(`  Note: churn-risk checks its data with Great Expectations, which ${python()} cannot import: its data check will`);
      say('  fail and block its rollout (pip install great_expectations, or MLP_PYTHON=<a python that has it>).');
      say();
    }
    await pause('Press Enter to put the first versions live.');

    const status = async () => (JSON.parse(await sandbox.mlp(daemon, 'status', '--json')) as { pipelines: PipelineView[] }).pipelines;
    say('▸ v1: `mlp deploy` trains every group and rolls the first versions out. A first version has nothing to compare');
    say('  with: it passes the data checks and integration tests, then takes all traffic.');
    const since = Date.now();
    await sandbox.mlp(daemon, 'deploy', 'demand-forecast');
    await sandbox.mlp(daemon, 'deploy', 'churn-risk');
    // Both roll out at once; followed one after the other, so each one's decisions read together.
    for (const first of [
      { pipeline: 'demand-forecast', expected: 'promoted' as const, rule: 'first_version' },
      { pipeline: 'churn-risk', expected: gx ? ('promoted' as const) : ('blocked' as const), rule: gx ? 'first_version' : 'data_checks' },
    ]) {
      const outcome: Outcome = {
        ...first,
        version: 'v1',
        ...(await settle(() => followRollout(status, first.pipeline, 'v1', { since, timeoutMs: RELEASE_TIMEOUT_MS, say }))),
      };
      outcomes.push(outcome);
      report(outcome);
    }
    if (outcomes[0]!.rollout?.phase !== 'promoted') throw new Error('demand-forecast v1 did not go live: the releases need it');

    say();
    say(`▸ Live traffic: examples/traffic.mjs sends ${TRAFFIC_RATE} requests/s to each city and to churn-risk through the router,`);
    say("  as the shop's website, mobile app and tills would. Every request is captured: replay will send them to each");
    say(`  new version. (Its counts: ${sandbox.trafficLog})`);
    sandbox.startTraffic(daemon.serveUrl, TRAFFIC_RATE);
    await new Promise((r) => setTimeout(r, WARM_UP_MS));

    for (const release of RELEASES) {
      say();
      await pause(`Press Enter to merge ${release.version}.`);
      say(`▸ ${release.version}: the team ${release.title}.`);
      say(`  Expected: ${release.expectation}.`);
      const at = Date.now();
      const commit = await sandbox.merge(release);
      say(`  ${clock(at)} merged ${commit} "${release.commitMessage}"; the daemon pulls it and trains demand-forecast`);
      const outcome: Outcome = {
        pipeline: 'demand-forecast',
        version: release.version,
        expected: release.ending,
        rule: release.endingRule,
        ...(await settle(() =>
          followRollout(status, 'demand-forecast', release.version, { since: at, timeoutMs: RELEASE_TIMEOUT_MS, say }),
        )),
      };
      outcomes.push(outcome);
      report(outcome);
    }
    ok = outcomes.every(asExpected);
    summarize(outcomes);
    await pause('The demo is over; the daemon keeps serving until you press Enter.');
  } catch (err) {
    say(`demo: ${(err as Error).message}`);
    summarize(outcomes);
  } finally {
    await sandbox.close(!ok);
    if (!ok) say(`Kept for a look: ${sandbox.dir} (the daemon's log, the traffic counts, the repo and the data dir).`);
  }
  return ok;
}

/** What a rollout ended as, said in plain words, with the failing requests of a replay block. */
function report(o: Outcome): void {
  const r = o.rollout;
  if (!r) return say(`  ✗ ${o.pipeline} ${o.version}: ${o.error}`);
  const mark = asExpected(o) ? '✓' : '✗';
  const last = r.decisions[r.decisions.length - 1];
  const words: Record<string, string> = {
    promoted: 'promoted: it serves all traffic',
    blocked: 'blocked before any live traffic reached it',
    rolled_back: 'rolled back: the previous version has all traffic again',
    failed: 'failed',
  };
  say(`  ${mark} ${o.pipeline} ${o.version} ${words[r.phase] ?? r.phase} (${last?.rule}: ${last?.reason ?? r.reason})`);
  const failing = failingRequests(r, 5);
  if (failing.length) {
    say('    requests that worked on the current version and fail on the new one (from the replay report):');
    for (const line of failing) say(`      ${line}`);
  }
}

function asExpected(o: Outcome): boolean {
  return !!o.rollout && o.rollout.phase === o.expected && o.rollout.decisions.some((d) => d.rule === o.rule);
}

function summarize(outcomes: Outcome[]): void {
  say();
  say('Summary:');
  for (const o of outcomes)
    say(
      `  ${asExpected(o) ? 'ok  ' : 'FAIL'} ${o.pipeline} ${o.version}: expected ${o.expected} (${o.rule}), got ${o.rollout?.phase ?? o.error}`,
    );
  if (!headless) return;
  say();
  say('Decision records:');
  for (const o of outcomes) {
    say(`  ${o.pipeline} ${o.version}:`);
    for (const d of o.rollout?.decisions ?? []) {
      say(
        `    ${clock(d.at)} ${d.phase} ${d.rule} ${d.verdict}: ${d.reason}  observed=${JSON.stringify(d.observed)} threshold=${JSON.stringify(d.threshold)}`,
      );
    }
  }
}

async function settle(follow: () => Promise<RolloutView>): Promise<{ rollout: RolloutView | null; error?: string }> {
  try {
    return { rollout: await follow() };
  } catch (err) {
    return { rollout: null, error: (err as Error).message };
  }
}

function python(): string {
  return process.env.MLP_PYTHON || 'python3';
}

/** Whether the daemon's Python (MLP_PYTHON, as mlpd reads it) can import Great Expectations. */
async function greatExpectationsAvailable(): Promise<boolean> {
  try {
    await promisify(execFile)(python(), ['-c', 'import great_expectations']);
    return true;
  } catch {
    return false;
  }
}

async function pause(prompt: string): Promise<void> {
  if (headless) return;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  await new Promise<void>((resolve) => {
    rl.question(`  ${prompt} `, () => resolve());
    rl.once('close', () => resolve());
    // The prompt reads the terminal raw: Ctrl-C arrives here, not as a signal.
    rl.once('SIGINT', () => interrupt());
  });
  rl.close();
}

process.exitCode = (await main()) ? 0 : 1;
