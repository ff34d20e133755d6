/**
 * The serving platform (docs/serving.md, "Serving platforms"): what a rollout needs from the place its models
 * serve. The rollout controller, the gates and the watch talk to this port only, so the state machine and its
 * decisions are the same whichever platform runs a pipeline: mlpd's own router (backends `local` and
 * `docker`, daemon/platform/local.ts) or SageMaker endpoints.
 *
 * Every method that changes serving is idempotent: after a crash the controller carries out the same effect
 * again. What the watch reads (`candidatesDown`, `variantTraffic`) is what the platform last observed, with no
 * I/O, because the watch reads it ten times a second. A platform records its variants in the store: status
 * shows them from there, and a new rollout finds each group's current version there.
 */
import { MlpError } from '../../shared/errors.js';
import type { ModelConnector } from '../replay/model-client.js';
import type { CapturedRequest } from '../serving/capture/format.js';
import type { VariantRole } from '../store/variants.js';

export interface ServingPlatform {
  /** Brings back every variant the store says is live (a daemon start); candidates may still be coming back when it resolves. */
  restore(): Promise<void>;
  /**
   * Starts `version` of the group beside its current version at weight 0 (idempotent); resolves once it is live and the
   * current version (restored after a restart) has started; rejects, saying why, when the candidate's first start fails.
   * The candidate's traffic counts from zero. Resolves with what it did besides, for the rollout's decision (the
   * group's current version brought up here because the group moves from another platform), else null.
   */
  startCandidate(pipeline: string, group: string, version: number): Promise<string | null>;
  /** Resolves once every candidate of the pipeline is live again (restored, restarted); rejects, saying which and why, when one was given up on. */
  candidatesBack(pipeline: string): Promise<void>;
  /** Why a candidate of the pipeline is not serving right now; null while all are live. */
  candidatesDown(pipeline: string): string | null;
  /** Candidates get `weight`% of their group's traffic, the current variants the rest. */
  setCandidateWeight(pipeline: string, weight: number): Promise<void>;
  /** Candidates become current at 100%; the old current variants stop once their requests in flight are done. */
  promoteCandidates(pipeline: string): Promise<void>;
  /** Candidates go back to 0% and stop; the current variants keep all traffic. */
  retireCandidates(pipeline: string): Promise<void>;
  /**
   * The candidates get no traffic from now on, without writing to the daemon's database (a rollback that could not
   * be stored yet). Ends when they are retired or promoted.
   */
  holdCandidates(pipeline: string): void;
  /** How to call a group's current or candidate variant directly, past the traffic split (integration tests, replay); null when it is not live. */
  endpointOf(pipeline: string, group: string, role: VariantRole): VariantEndpoint | null;
  /** The group's captured requests in a window, newest first (replay). */
  capturedRequests(pipeline: string, group: string, window: CaptureWindow): AsyncIterable<CapturedRequest>;
  /** A variant's requests as the rollback rules judge them; null before its first request. */
  variantTraffic(pipeline: string, group: string, variant: string): VariantTraffic | null;
  /** Stops serving for this process; the store keeps its variants live, so the next `restore` brings them back. */
  close(): Promise<void>;
}

/** One variant, called directly. */
export interface VariantEndpoint extends ModelConnector {
  /** The model version, `v3`. */
  variant: string;
  /**
   * What a command needs in its environment to call this variant (integration tests): `MLP_ENDPOINT_URL` and
   * `MLP_VARIANT` on mlpd's router; `MLP_ENDPOINT_NAME`, `MLP_VARIANT`, `AWS_REGION` (and the daemon's
   * AWS_ENDPOINT_URL*) on SageMaker.
   */
  env: Readonly<Record<string, string>>;
}

export interface CaptureWindow {
  /** Requests that arrived at or after this time (epoch ms). */
  sinceMs: number;
  /** At most this many: the newest. */
  limit: number;
}

export interface VariantTraffic {
  /** Since the variant started serving (a candidate started again counts from zero). */
  total: { requests: number; errors: number };
  /** The windows the rollback rules look at, each named as decisions name it (`60s`, `last 1000`). */
  windows: readonly TrafficWindow[];
}

export interface TrafficWindow {
  name: string;
  requests: number;
  /** Requests answered with a status >= 500. */
  errors: number;
  /** errors / requests; 0 without requests. */
  errorRate: number;
  /** Null when the platform does not measure it, or without requests. */
  p99Ms: number | null;
  /** How long the window is, when it is a span of time (a count window has none). */
  spanMs?: number;
}

/**
 * The platform itself failed (its API refused the call, or an endpoint stayed in transition past its time limit),
 * not the candidate: a rollout that meets one ends `failed` with this error, where a candidate that does not start
 * leaves it `blocked`. What was serving keeps serving.
 */
export class PlatformFailure extends MlpError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('unavailable', message, options);
    this.name = 'PlatformFailure';
  }
}
