/** Cost estimates and the price table, with the figures worked out by hand. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { servingEstimate, trainingEstimate } from '../../../daemon/costs/estimate.js';
import { BUILT_IN_PRICES, priceTable } from '../../../daemon/costs/prices.js';

const MIN = 60_000;
const T = Date.UTC(2026, 10, 20, 2, 0, 0);

/** Two groups: preprocess then train each, on this machine. The run took 30 minutes. */
const run = { id: 'r-1', createdAt: T - 2 * MIN, startedAt: T, finishedAt: T + 30 * MIN };
const steps = [
  { step: 'preprocess', executor: 'local' as const, startedAt: T, finishedAt: T + 5 * MIN },
  { step: 'preprocess', executor: 'local' as const, startedAt: T, finishedAt: T + 4 * MIN },
  { step: 'train', executor: 'local' as const, startedAt: T + 5 * MIN, finishedAt: T + 20 * MIN },
  { step: 'train', executor: 'local' as const, startedAt: T + 4 * MIN, finishedAt: T + 28 * MIN },
];

const close = (actual: number | null, expected: number) =>
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `${actual} is not ${expected}`);

describe('training estimate', () => {
  it('prices the train steps as one instance per group for as long as each ran', () => {
    const e = trainingEstimate(run, steps, 'ml.m5.xlarge', BUILT_IN_PRICES);
    assert.equal(e.runId, 'r-1');
    assert.equal(e.finishedAt, T + 30 * MIN);
    assert.equal(e.durationMs, 30 * MIN, 'wall clock from start to finish, not from when it was queued');
    assert.equal(e.computeMs, (5 + 4 + 15 + 24) * MIN, 'every step of every group');
    assert.equal(e.executor, 'local');
    assert.equal(e.instanceType, 'ml.m5.xlarge');
    close(e.instanceHours, 0.65); // 15 + 24 = 39 minutes of train steps
    assert.equal(e.usdPerHour, 0.23);
    close(e.estimatedUsd, 0.1495); // 0.65 h × $0.23
  });

  it('shows the hours without a price when the table does not list the instance type', () => {
    const e = trainingEstimate(run, steps, 'ml.t2.medium', BUILT_IN_PRICES); // hosting only: no training price
    close(e.instanceHours, 0.65);
    assert.equal(e.usdPerHour, null);
    assert.equal(e.estimatedUsd, null);
  });

  it('says where training ran', () => {
    const cloud = steps.map((s) => ({ ...s, executor: s.step === 'train' ? ('cloud' as const) : ('local' as const) }));
    assert.equal(trainingEstimate(run, cloud, 'ml.m5.xlarge', BUILT_IN_PRICES).executor, 'cloud');
  });
});

describe('serving estimate', () => {
  const variants = [
    { backend: 'local' as const, state: 'live' as const },
    { backend: 'local' as const, state: 'starting' as const },
    { backend: 'local' as const, state: 'live' as const },
    { backend: 'local' as const, state: 'failed' as const },
  ];

  it('prices every running model server as one hosting instance, per hour and per 30 days', () => {
    const e = servingEstimate(variants, 'ml.m5.large', BUILT_IN_PRICES)!;
    assert.equal(e.backend, 'local');
    assert.equal(e.instanceType, 'ml.m5.large');
    assert.equal(e.instances, 3, 'the failed server is not running');
    close(e.usdPerHour, 0.345); // 3 × $0.115
    close(e.estimatedUsdPer30Days, 248.4); // $0.345 × 720 h
  });

  it('is null when nothing runs, and has no price for an unknown type', () => {
    assert.equal(servingEstimate([{ backend: 'docker', state: 'stopped' }], 'ml.m5.large', BUILT_IN_PRICES), null);
    const e = servingEstimate(variants, 'ml.inf2.xlarge', BUILT_IN_PRICES)!;
    assert.equal(e.instances, 3);
    assert.equal(e.usdPerHour, null);
    assert.equal(e.estimatedUsdPer30Days, null);
  });
});

describe('price table', () => {
  it('is dated, for us-east-1, and lists the common types for training and hosting', () => {
    assert.deepEqual([BUILT_IN_PRICES.asOf, BUILT_IN_PRICES.region, BUILT_IN_PRICES.source], ['2026-11-01', 'us-east-1', 'built-in']);
    assert.equal(BUILT_IN_PRICES.training['ml.p3.2xlarge'], 3.825);
    assert.equal(BUILT_IN_PRICES.hosting['ml.c5.large'], 0.102);
    assert.equal(priceTable(undefined), BUILT_IN_PRICES);
  });

  it('is the table docs/costs.md shows', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../../docs/costs.md'), 'utf8');
    const table = doc.slice(doc.indexOf('<!-- price-table:begin'), doc.indexOf('<!-- price-table:end'));
    const rows = [...table.matchAll(/^\| `(ml\.[^`]+)` \| ([^|]+) \| ([^|]+) \|$/gm)].map(([, type, training, hosting]) => [
      type,
      training!.trim(),
      hosting!.trim(),
    ]);
    const types = [...new Set([...Object.keys(BUILT_IN_PRICES.hosting), ...Object.keys(BUILT_IN_PRICES.training)])];
    const price = (list: Readonly<Record<string, number>>, type: string) => (type in list ? String(list[type]) : '—');
    assert.deepEqual(
      rows,
      types.map((type) => [type, price(BUILT_IN_PRICES.training, type), price(BUILT_IN_PRICES.hosting, type)]),
    );
    assert.match(doc, new RegExp(`${BUILT_IN_PRICES.region}, as copied on ${BUILT_IN_PRICES.asOf}`));
  });

  it("takes mlp.yaml's prices over the built-in ones, keeps the rest, and says so", () => {
    const table = priceTable({ as_of: '2027-01-15', region: 'eu-west-1', hosting: { 'ml.m5.large': 0.13 } });
    assert.deepEqual([table.asOf, table.region, table.source], ['2027-01-15', 'eu-west-1', 'mlp.yaml']);
    close(
      servingEstimate(
        [
          { backend: 'local', state: 'live' },
          { backend: 'docker', state: 'live' },
        ],
        'ml.m5.large',
        table,
      )!.usdPerHour,
      0.26,
    );
    assert.equal(trainingEstimate(run, steps, 'ml.m5.xlarge', table).usdPerHour, 0.23, 'training prices it did not list stay');
    const onlyPrices = priceTable({ training: { 'ml.trn1.2xlarge': 1.5 } });
    assert.deepEqual([onlyPrices.asOf, onlyPrices.region, onlyPrices.source], ['2026-11-01', 'us-east-1', 'mlp.yaml']);
    assert.equal(trainingEstimate(run, steps, 'ml.trn1.2xlarge', onlyPrices).usdPerHour, 1.5);
  });
});
