/** The data-checks gate in a real rollout: a Great Expectations suite over the pipeline's data blocks a bad batch. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { pipelineRepo } from '../helpers/pipelines.js';

const SUITE = JSON.stringify({
  name: 'features',
  expectations: [
    { type: 'expect_column_to_exist', kwargs: { column: 'demand' } },
    { type: 'expect_column_values_to_be_between', kwargs: { column: 'demand', min_value: 0, max_value: 1000 } },
    { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'city' } },
  ],
});

interface RolloutJson {
  id: number;
  phase: string;
  gates: Record<string, { passed: boolean; summary: string; report: any }>;
  decisions: { phase: string; rule: string; verdict: string; reason: string }[];
}

describe('data checks gate', () => {
  let d: TestDaemon | undefined;
  after(async () => {
    await d?.stop();
  });

  it('passes good data and blocks a batch that breaks an expectation, naming it and the values', async () => {
    const repo = pipelineRepo({
      cities: ['oslo'],
      pipelineYaml: `pipeline:
  name: forecast
  groups:
    generate: true
    source: warehouse.cities
  deployment:
    data_checks:
      - suite: expectations/features.json
        data: data/latest.csv
`,
      extra: { 'forecast/expectations/features.json': SUITE, 'forecast/data/latest.csv': 'city,demand\noslo,410.5\noslo,399\n' },
    });
    d = await startTestDaemon({ repo });
    const env = d.clientEnv();
    const finished = async (after: number) =>
      eventually(
        async () => {
          const s = JSON.parse((await runCli('mlp', ['status', '--json'], { env })).stdout) as {
            pipelines: { rollout: RolloutJson | null }[];
          };
          const r = s.pipelines[0]!.rollout;
          return r && r.id > after && ['promoted', 'blocked', 'failed', 'rolled_back'].includes(r.phase) ? r : undefined;
        },
        60_000,
        'the rollout to end',
      );

    assert.equal((await runCli('mlp', ['deploy', 'forecast'], { env })).code, 0);
    const good = await finished(0);
    assert.equal(good.phase, 'promoted', JSON.stringify(good.decisions));
    assert.equal(good.gates.data_checks!.passed, true);
    assert.match(good.gates.data_checks!.summary, /1 suite passed \(3 expectations\)/);

    writeFileSync(join(repo, 'forecast/data/latest.csv'), 'city,demand\noslo,410.5\noslo,-4\n,150\noslo,99999\n');
    assert.equal((await runCli('mlp', ['deploy', 'forecast'], { env })).code, 0);
    const bad = await finished(good.id);
    assert.equal(bad.phase, 'blocked', JSON.stringify(bad.decisions));
    const block = bad.decisions.at(-1)!;
    assert.equal(block.phase, 'checking_data');
    assert.equal(block.verdict, 'block');
    assert.match(block.reason, /expect_column_values_to_be_between/);
    const report = bad.gates.data_checks!.report[0];
    const failed = report.failed.map((f: { expectation: { type: string } }) => f.expectation.type).sort();
    assert.deepEqual(failed, ['expect_column_values_to_be_between', 'expect_column_values_to_not_be_null']);
    const between = report.results.find((r: any) => r.expectation_config.type === 'expect_column_values_to_be_between');
    assert.deepEqual(between.result.partial_unexpected_list, [-4, 99999]);
    const human = await runCli('mlp', ['status'], { env });
    assert.match(human.stdout, /✖ data checks: .*expect_column_values_to_be_between/);
  });
});
