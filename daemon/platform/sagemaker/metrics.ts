/**
 * What the watch and status read of a SageMaker variant's traffic: CloudWatch `AWS/SageMaker` Invocations and
 * Invocation5XXErrors per EndpointName + VariantName, in 1-minute periods (what SageMaker publishes), fetched
 * with GetMetricData in the background. Readers get the last figures fetched, without I/O.
 *
 * A variant is counted from the moment it is watched (`since`): for a candidate, when its shift began, so the
 * integration tests' and replay's requests (InvokeEndpoint with TargetVariant, which CloudWatch counts as any
 * other) are not taken for live traffic. CloudWatch rounds a query's start down to the minute, so a minute that
 * began before `since` is left out: it may hold those requests.
 */
import { GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { AwsClients } from '../../aws/clients.js';
import { awsCall } from '../../aws/errors.js';
import type { TrafficWindow, VariantTraffic } from '../platform.js';

const PERIOD_S = 60;
/** The watch's window: the last few published minutes. */
const WINDOW_MINUTES = 5;
const WINDOW_NAME = `CloudWatch ${WINDOW_MINUTES} min (AWS/SageMaker Invocation5XXErrors/Invocations)`;

interface Watched {
  endpoint: string;
  variant: string;
  since: number;
  /** Minute start → invocations and 5xx errors, for the minutes CloudWatch may still revise. */
  minutes: Map<number, { requests: number; errors: number }>;
  /** The minutes before those, added up (a variant serving for months is not asked for all of them again). */
  settled: { requests: number; errors: number; until: number };
  fetched: boolean;
}

/** How far back each poll asks again: CloudWatch publishes, and may revise, a minute's figures minutes late. */
const REFETCH_MS = 60 * 60_000;

export interface CloudWatchTraffic {
  /** Counts the variant from `since` on (a variant already watched keeps its start). */
  watch(key: string, endpoint: string, variant: string, since: number): void;
  unwatch(key: string): void;
  /** The last figures fetched; null before the first answer. */
  traffic(key: string): VariantTraffic | null;
  close(): void;
}

export function createCloudWatchTraffic(opts: {
  aws: AwsClients;
  everyMs: number;
  onError(message: string): void;
  now?: () => number;
}): CloudWatchTraffic {
  const now = opts.now ?? Date.now;
  const watched = new Map<string, Watched>();
  let polling: Promise<void> | null = null;

  /** One variant's minutes since it is watched (a query per variant: each starts at its own `since`). */
  const fetchOne = async (w: Watched) => {
    const queries: MetricDataQuery[] = (['Invocations', 'Invocation5XXErrors'] as const).map((metric) => ({
      Id: metric === 'Invocations' ? 'n' : 'e',
      MetricStat: {
        Metric: {
          Namespace: 'AWS/SageMaker',
          MetricName: metric,
          Dimensions: [
            { Name: 'EndpointName', Value: w.endpoint },
            { Name: 'VariantName', Value: w.variant },
          ],
        },
        Period: PERIOD_S,
        Stat: 'Sum',
      },
    }));
    const points = { n: new Map<number, number>(), e: new Map<number, number>() };
    let token: string | undefined;
    do {
      const page = await awsCall(opts.aws, 'cloudwatch', 'GetMetricData', () =>
        opts.aws.cloudwatch.send(
          new GetMetricDataCommand({
            MetricDataQueries: queries,
            StartTime: new Date(w.settled.until),
            EndTime: new Date(now() + PERIOD_S * 1000),
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      for (const r of page.MetricDataResults ?? []) {
        const m = r.Id === 'n' ? points.n : points.e;
        (r.Timestamps ?? []).forEach((t, j) => m.set(t.getTime(), (m.get(t.getTime()) ?? 0) + (r.Values?.[j] ?? 0)));
      }
      token = page.NextToken;
    } while (token);
    const minutes = new Map<number, { requests: number; errors: number }>();
    for (const [at, n] of points.n) if (at >= w.since) minutes.set(at, { requests: n, errors: points.e.get(at) ?? 0 });
    // Minutes older than REFETCH_MS are final: added to the settled sum, and the next query starts after them
    // (a whole number of periods after `since`, so the periods stay where they were).
    const until = w.since + Math.max(0, Math.floor((now() - REFETCH_MS - w.since) / (PERIOD_S * 1000))) * PERIOD_S * 1000;
    for (const [at, m] of minutes) {
      if (at >= until) continue;
      w.settled.requests += m.requests;
      w.settled.errors += m.errors;
      minutes.delete(at);
    }
    w.settled.until = Math.max(w.settled.until, until);
    w.minutes = minutes;
    w.fetched = true;
  };

  const fetchAll = async () => {
    for (const w of [...watched.values()]) await fetchOne(w);
  };

  const poll = () => {
    polling ??= fetchAll()
      .catch((err) => opts.onError(err instanceof Error ? err.message : String(err)))
      .finally(() => (polling = null));
    return polling;
  };
  const timer = setInterval(() => void poll(), opts.everyMs);
  timer.unref();

  return {
    watch(key, endpoint, variant, since) {
      const w = watched.get(key);
      if (w && w.endpoint === endpoint && w.variant === variant) return;
      // CloudWatch times are whole seconds: a start inside a second would leave out the period that begins at it.
      const start = Math.ceil(since / 1000) * 1000;
      watched.set(key, {
        endpoint,
        variant,
        since: start,
        minutes: new Map(),
        settled: { requests: 0, errors: 0, until: start },
        fetched: false,
      });
    },
    unwatch: (key) => void watched.delete(key),
    traffic(key) {
      const w = watched.get(key);
      if (!w?.fetched) return null;
      const total = { requests: w.settled.requests, errors: w.settled.errors };
      const recent = { requests: 0, errors: 0 };
      const from = now() - WINDOW_MINUTES * 60_000;
      for (const [at, m] of w.minutes) {
        total.requests += m.requests;
        total.errors += m.errors;
        if (at >= from) {
          recent.requests += m.requests;
          recent.errors += m.errors;
        }
      }
      const window: TrafficWindow = {
        name: WINDOW_NAME,
        ...recent,
        errorRate: recent.requests ? recent.errors / recent.requests : 0,
        p99Ms: null,
        spanMs: Math.min(WINDOW_MINUTES * 60_000, now() - w.since),
      };
      return { total, windows: [window] };
    },
    close: () => clearInterval(timer),
  };
}
