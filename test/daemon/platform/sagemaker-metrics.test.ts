// What the watch reads of a SageMaker variant: CloudWatch AWS/SageMaker per endpoint and variant, from moto, counted
// from the moment the variant is watched, the window named by its metric.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { createAwsClients, type AwsClients } from '../../../daemon/aws/clients.js';
import { createCloudWatchTraffic } from '../../../daemon/platform/sagemaker/metrics.js';
import { eventually } from '../../helpers/daemon.js';
import { startMoto, type Moto } from '../../helpers/moto.js';

describe('CloudWatch traffic of SageMaker variants', () => {
  let moto: Moto;
  let aws: AwsClients;
  before(async () => {
    moto = await startMoto();
    Object.assign(process.env, moto.env); // credentials come from the SDK's default chain
    aws = createAwsClients({ env: moto.env, maxAttempts: 1 });
  });
  after(async () => moto?.stop());

  /** One invocation as SageMaker reports it: a datum per metric, errors 0 or 1. */
  const invocation = (variant: string, at: number, failed: boolean) =>
    aws.cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: 'AWS/SageMaker',
        MetricData: (['Invocations', 'Invocation5XXErrors'] as const).map((MetricName) => ({
          MetricName,
          Dimensions: [
            { Name: 'EndpointName', Value: 'mlp-shop-default-1234abcd' },
            { Name: 'VariantName', Value: variant },
          ],
          Timestamp: new Date(at),
          Value: MetricName === 'Invocations' ? 1 : failed ? 1 : 0,
        })),
      }),
    );

  it('counts a variant from when it is watched, per variant, and names the metric in its window', async () => {
    const errors: string[] = [];
    const traffic = createCloudWatchTraffic({ aws, everyMs: 100, onError: (m) => errors.push(m) });
    try {
      const since = Date.now();
      await invocation('v2', since - 5_000, true); // the gates' requests, before the shift
      traffic.watch('v2', 'mlp-shop-default-1234abcd', 'v2', since);
      assert.equal(traffic.traffic('v2'), null, 'nothing before the first answer');
      for (let i = 0; i < 10; i++) await invocation('v2', since + 1_000 + i, i < 3);
      await invocation('v1', since + 1_000, true);
      const t = await eventually(
        () => {
          const x = traffic.traffic('v2');
          return x && x.total.requests === 10 ? x : undefined;
        },
        10_000,
        `v2's ten requests (errors: ${errors.join('; ')})`,
      );
      assert.deepEqual(t.total, { requests: 10, errors: 3 });
      assert.equal(t.windows.length, 1);
      const w = t.windows[0]!;
      assert.deepEqual(
        [w.name, w.requests, w.errors, w.errorRate, w.p99Ms],
        ['CloudWatch 5 min (AWS/SageMaker Invocation5XXErrors/Invocations)', 10, 3, 0.3, null],
      );
      traffic.unwatch('v2');
      assert.equal(traffic.traffic('v2'), null);
      assert.deepEqual(errors, []);
    } finally {
      traffic.close();
    }
  });
});
