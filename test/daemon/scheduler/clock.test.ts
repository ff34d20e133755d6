import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import cron, { type ScheduledTask } from 'node-cron';
import { createLogger } from '../../../daemon/log.js';
import { alarmExpression, nodeCronDriver } from '../../../daemon/scheduler/clock.js';
import { nextFireTime, parseCron } from '../../../shared/config/cron.js';

/** Registers through `register` and returns the node-cron task it added. */
function taskAddedBy<T>(register: () => T): { result: T; task: ScheduledTask } {
  const before = new Set(cron.getTasks().keys());
  const result = register();
  const added = [...cron.getTasks().values()].filter((t) => !before.has(t.id));
  assert.equal(added.length, 1, 'one node-cron task per job');
  return { result, task: added[0]! };
}

describe('alarmExpression', () => {
  it('spells a schedule in numbers for node-cron, waking daily when either day field may match', () => {
    for (const [expr, alarm] of [
      ['0 9-17/2 * * MON-FRI', '0 9,11,13,15,17 * * 1,2,3,4,5'],
      ['*/20 * * jan,jul 7', '0,20,40 * * 1,7 0'],
      ['@weekly', '0 0 * * 0'],
      ['0 0 */10 * *', '0 0 1,11,21,31 * *'],
      ['0 0 1 * MON', '0 0 * * *'],
      ['* * * * *', '* * * * *'],
    ]) {
      assert.equal(alarmExpression(parseCron(expr!)), alarm, expr);
      assert.equal(cron.validate(alarm!), true, alarm);
    }
  });
});

describe('nodeCronDriver', () => {
  it('registers a node-cron task that wakes at our fire times, and removes it on stop', () => {
    const driver = nodeCronDriver();
    const expr = '15 4 * * 2-3';
    const { result: job, task } = taskAddedBy(() => driver.schedule(expr, 'America/New_York', () => {}));
    assert.equal(task.getPattern(), '15 4 * * 2,3');
    const theirs = task.getNextRuns(4).map((d) => d.toISOString());
    const ours: string[] = [];
    for (let t = new Date(); ours.length < 4;) ours.push((t = nextFireTime(parseCron(expr), t, 'America/New_York')).toISOString());
    assert.deepEqual(theirs, ours);
    job.stop();
    assert.equal(cron.getTasks().has(task.id), false, 'the task is gone from node-cron');
    assert.equal(task.getStatus(), 'destroyed');
  });

  it('hands a tick to onTick with the fire time floored to the minute', async () => {
    const ticks: Date[] = [];
    const { result: job, task } = taskAddedBy(() => nodeCronDriver().schedule('* * * * *', undefined, (at) => ticks.push(at)));
    const before = Date.now();
    await task.execute();
    const after = Date.now();
    job.stop();
    assert.equal(ticks.length, 1);
    const firedAt = ticks[0]!.getTime();
    assert.equal(firedAt % 60_000, 0);
    assert.ok(firedAt >= Math.floor(before / 60_000) * 60_000 && firedAt <= after, ticks[0]!.toISOString());
  });

  it('drops a wake-up that is not a fire time of the schedule', async () => {
    const ticks: Date[] = [];
    const otherMinute = (new Date().getMinutes() + 30) % 60;
    const { result: job, task } = taskAddedBy(() => nodeCronDriver().schedule(`${otherMinute} * * * *`, undefined, (at) => ticks.push(at)));
    await task.execute();
    job.stop();
    assert.deepEqual(ticks, []);
  });

  it("sends node-cron's own log lines to the daemon log", async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', write: (line) => lines.push(line) });
    const { result: job, task } = taskAddedBy(() =>
      nodeCronDriver({ log }).schedule('* * * * *', undefined, () => {
        throw new Error('boom');
      }),
    );
    await assert.rejects(task.execute(), /boom/);
    job.stop();
    assert.ok(
      lines.some((l) => / error cron: boom/.test(l)),
      lines.join('\n'),
    );
  });
});
