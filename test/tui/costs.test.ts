import { test } from 'node:test';
import assert from 'node:assert/strict';
import { priceTable, servingPerMonth, servingText, trainingText } from '../../tui/costs.js';
import { cloudTraining, serving } from './fixtures.js';

test('training: where it ran and what it cost, or would cost on SageMaker', () => {
  assert.deepEqual(trainingText(cloudTraining), ['last run 34m, 1h2m compute, on SageMaker', '≈ $0.23 on ml.m5.xlarge (1 instance-hour)']);
  assert.deepEqual(trainingText({ ...cloudTraining, executor: 'local', instanceHours: 0.65, estimatedUsd: 0.1495 }), [
    'last run 34m, 1h2m compute, ran locally',
    'would cost ≈ $0.15 on SageMaker ml.m5.xlarge (0.65 instance-hours)',
  ]);
  // A few seconds of training: a sliver of an instance-hour and of a cent, not "0".
  assert.equal(
    trainingText({
      ...cloudTraining,
      executor: 'docker',
      durationMs: 251,
      computeMs: 390,
      instanceHours: 0.00007,
      estimatedUsd: 0.000016,
    })[1],
    'would cost <$0.01 on SageMaker ml.m5.xlarge (<0.01 instance-hours)',
  );
  assert.equal(
    trainingText({ ...cloudTraining, instanceType: 'ml.p5.48xlarge', usdPerHour: null, estimatedUsd: null })[1],
    'no estimate: ml.p5.48xlarge is not in the price table (1 instance-hour)',
  );
  assert.deepEqual(trainingText(null), ['no training run has succeeded yet']);
});

test('serving: instances × type, per hour and per 30 days, and where they run', () => {
  assert.equal(servingText(serving), '2 instances × ml.m5.large ≈ $0.23/hour, $166 per 30 days (runs locally)');
  assert.equal(
    servingText({ ...serving, backend: 'docker', instances: 1, usdPerHour: 0.115, estimatedUsdPer30Days: 82.8 }),
    '1 instance × ml.m5.large ≈ $0.12/hour, $82.80 per 30 days (runs in Docker)',
  );
  assert.equal(
    servingText({ ...serving, instanceType: 'ml.x', usdPerHour: null, estimatedUsdPer30Days: null }),
    '2 instances × ml.x: no estimate, ml.x is not in the price table (runs locally)',
  );
  assert.equal(servingText(null), 'no model server live');
  assert.equal(servingPerMonth(serving), '$166/mo');
  assert.equal(servingPerMonth({ ...serving, estimatedUsdPer30Days: 12_345.6 }), '$12,346/mo');
  assert.equal(servingPerMonth(null), null);
});

test('the price table: the built-in list prices, or where they were set', () => {
  assert.equal(priceTable({ asOf: '2026-11-01', region: 'us-east-1', source: 'built-in' }), 'us-east-1 list prices of 2026-11-01');
  assert.equal(priceTable({ asOf: '2026-10-01', region: 'eu-west-1', source: 'mlp.yaml' }), 'eu-west-1 prices of 2026-10-01 from mlp.yaml');
});
