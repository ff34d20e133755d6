import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parsePipelineConfig } from '../../../shared/config/load.js';
import {
  DEFAULT_GROUP,
  integrationTestCommand,
  parseGroupSource,
  PipelineFileSchema,
  sqlQuery,
  type PipelineConfig,
} from '../../../shared/config/schema.js';

const fixtures = join(import.meta.dirname, '../../fixtures/config');
const read = (name: string) => readFileSync(join(fixtures, name), 'utf8');

function valid(text: string, file: string): PipelineConfig {
  const { config, problems } = parsePipelineConfig(text, file);
  assert.deepEqual(problems, []);
  assert.ok(config);
  return config;
}

describe('the pipeline schema', () => {
  it('takes the reference pipeline.yaml unchanged and fills in every default', () => {
    const text = read('reference.yaml');
    assert.deepEqual(valid(text, 'reference.yaml'), {
      pipeline: {
        name: 'demand-forecast',
        schedule: '0 2 * * 1',
        orchestrator: 'mlpd',
        groups: { generate: true, source: 'warehouse.cities', parallelism: 2 },
        training: { instance_type: 'ml.m5.xlarge', timeout_hours: 4 },
        steps: [{ name: 'train', command: 'python3 train.py' }],
        serve: {
          mode: 'single-model',
          command: 'python3 serve.py',
          startup_timeout_seconds: 60,
          timeout_seconds: 60,
          instance_type: 'ml.m5.large',
        },
        deployment: {
          type: 'endpoint',
          backend: 'local',
          integration_tests: true,
          data_checks: [],
          rollout: { strategy: 'gradual', initial_traffic: 0, step_percent: 10, step_interval_minutes: 30 },
          rollback: { on_error_rate_above: 0.05, min_requests: 50 },
          replay: { requests: 10000, window_days: 30, concurrency: 8, checks: [] },
          capture: { sampling_percent: 100 },
        },
        notify: [],
      },
    });
  });

  it('takes the optional keys of full.yaml as written there', () => {
    const { pipeline } = valid(read('full.yaml'), 'full.yaml');
    assert.equal(pipeline.groups.key, 'name');
    assert.deepEqual(pipeline.steps, [
      { name: 'preprocess', command: 'python3 steps/preprocess.py', timeout_minutes: 60 },
      { name: 'train', command: 'python3 train.py' },
    ]);
    assert.equal(pipeline.image, 'demand-forecast:latest');
    assert.deepEqual(pipeline.deployment.data_checks, [{ suite: 'expectations/features.json', data: 'data/latest.csv', engine: 'native' }]);
    assert.deepEqual(pipeline.deployment.replay.checks, [
      { latency: { quantile: 0.99, max_ratio: 1.5 } },
      { distribution: { path: '$.demand', metric: 'psi', max: 0.2 } },
      { python: 'checks/replay.py:no_negative_demand' },
    ]);
    assert.deepEqual(pipeline.deployment.rollback, { on_error_rate_above: 0.05, min_requests: 50, on_latency_p99_above_ms: 800 });
  });

  it('needs nothing but a name; no groups means the one group `default`', () => {
    const { pipeline } = valid('pipeline:\n  name: churn\n', 'pipeline.yaml');
    assert.equal(pipeline.schedule, undefined);
    assert.deepEqual(pipeline.groups, { generate: false, parallelism: 2 });
    assert.equal(DEFAULT_GROUP, 'default');
    assert.equal(pipeline.deployment.integration_tests, false);
  });

  it('does not share default values between parses', () => {
    const a = PipelineFileSchema.parse({ pipeline: { name: 'a' } });
    a.pipeline.steps.push({ name: 'extra', command: 'true' });
    a.pipeline.deployment.replay.checks.push({ python: 'x.py:f' });
    const b = PipelineFileSchema.parse({ pipeline: { name: 'b' } });
    assert.equal(b.pipeline.steps.length, 1);
    assert.equal(b.pipeline.deployment.replay.checks.length, 0);
  });

  it('accepts the boundaries of every range', () => {
    const text = [
      'pipeline:',
      `  name: ${'a'.repeat(63)}`,
      '  timezone: America/New_York',
      '  training: { timeout_hours: 120 }',
      '  deployment:',
      '    integration_tests: ./run-tests.sh',
      '    rollout: { initial_traffic: 99.5, step_percent: 100 }',
      '    rollback: { on_error_rate_above: 1, min_requests: 1 }',
      '    replay: { requests: 1000000, window_days: 365 }',
      '    data_checks:',
      '      - { suite: s.json, data: "sql: SELECT 1", connection: warehouse }',
      '',
    ].join('\n');
    valid(text, 'pipeline.yaml');
  });
});

describe('schema helpers', () => {
  it('splits groups.source into connection and (schema-qualified) table', () => {
    assert.deepEqual(parseGroupSource('warehouse.cities'), { connection: 'warehouse', table: 'cities' });
    assert.deepEqual(parseGroupSource('warehouse.public.cities'), { connection: 'warehouse', table: 'public.cities' });
    assert.equal(parseGroupSource('cities'), undefined);
    assert.equal(parseGroupSource('a.b.c.d'), undefined);
  });

  it('knows what integration_tests and sql: data mean', () => {
    assert.equal(integrationTestCommand(true), 'python3 -m pytest -q tests/integration');
    assert.equal(integrationTestCommand(false), undefined);
    assert.equal(integrationTestCommand('make it'), 'make it');
    assert.equal(sqlQuery('sql: SELECT 1'), 'SELECT 1');
    assert.equal(sqlQuery('data/latest.csv'), undefined);
  });
});
