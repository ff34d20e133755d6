/**
 * The per-variant invocation metrics SageMaker publishes to CloudWatch `AWS/SageMaker` with the
 * dimensions EndpointName and VariantName. Each invocation contributes one datum per metric (errors
 * as 0 or 1), so Sum counts and Average is the error rate, as on SageMaker. Sent in batches.
 */
import { PutMetricDataCommand, type CloudWatchClient, type MetricDatum } from '@aws-sdk/client-cloudwatch';

export interface InvocationOutcome {
  endpoint: string;
  variant: string;
  at: Date;
  /** The model's HTTP status, or undefined when it gave none (connection failed). */
  modelStatus: number | undefined;
  modelLatencyMicros: number;
}

const BATCH = 1000; // CloudWatch's limit of data per PutMetricData

export class MetricsPublisher {
  private pending: MetricDatum[] = [];

  constructor(private readonly cloudwatch: CloudWatchClient) {}

  record(o: InvocationOutcome): void {
    const Dimensions = [
      { Name: 'EndpointName', Value: o.endpoint },
      { Name: 'VariantName', Value: o.variant },
    ];
    const status = o.modelStatus ?? 500;
    const datum = (MetricName: string, Value: number, Unit: MetricDatum['Unit']) => ({
      MetricName,
      Dimensions,
      Timestamp: o.at,
      Value,
      Unit,
    });
    this.pending.push(
      datum('Invocations', 1, 'None'),
      datum('Invocation4XXErrors', status >= 400 && status < 500 ? 1 : 0, 'None'),
      datum('Invocation5XXErrors', status >= 500 ? 1 : 0, 'None'),
      datum('ModelLatency', o.modelLatencyMicros, 'Microseconds'),
    );
  }

  /** Forgets what was not written yet. */
  discard(): void {
    this.pending = [];
  }

  async flush(): Promise<void> {
    const data = this.pending;
    this.pending = [];
    for (let i = 0; i < data.length; i += BATCH) {
      await this.cloudwatch.send(new PutMetricDataCommand({ Namespace: 'AWS/SageMaker', MetricData: data.slice(i, i + BATCH) }));
    }
  }
}
