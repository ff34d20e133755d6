/**
 * Injected failures: a test asks that the next N calls of an action fail with a given AWS error, e.g.
 * `{ "action": "UpdateEndpointWeightsAndCapacities", "error": "ThrottlingException", "count": 2 }`.
 * Actions are the SageMaker and CloudWatch operation names, and InvokeEndpoint for the data plane.
 */
import { AwsError } from './aws-errors.js';

export interface FaultRequest {
  action: string;
  error: string;
  count?: number;
  message?: string;
  /** HTTP status; defaults to what AWS uses for the error (400 for client errors, 503/500 for service errors). */
  status?: number;
}

const DEFAULT_STATUS: Record<string, number> = { ServiceUnavailable: 503, InternalFailure: 500, InternalServerError: 500 };
const DEFAULT_MESSAGE: Record<string, string> = {
  ThrottlingException: 'Rate exceeded',
  AccessDeniedException: 'User: arn:aws:iam::123456789012:user/mlp is not authorized to perform this action',
  ServiceUnavailable: 'Service is unavailable',
  InternalFailure: 'An internal error occurred',
};

export class Faults {
  private readonly pending = new Map<string, { err: AwsError; left: number }[]>();

  add(req: FaultRequest): void {
    if (typeof req.action !== 'string' || typeof req.error !== 'string') throw new Error('a fault needs "action" and "error" (strings)');
    const count = req.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error(`"count" must be a positive integer, got ${req.count}`);
    const err = new AwsError(
      req.error,
      req.message ?? DEFAULT_MESSAGE[req.error] ?? req.error,
      req.status ?? DEFAULT_STATUS[req.error] ?? 400,
    );
    const queue = this.pending.get(req.action) ?? [];
    queue.push({ err, left: count });
    this.pending.set(req.action, queue);
  }

  /** The error this call of `action` must fail with, if one is pending (and counts it as used). */
  take(action: string): AwsError | undefined {
    const queue = this.pending.get(action);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    if (--head.left === 0) queue.shift();
    if (queue.length === 0) this.pending.delete(action);
    return head.err;
  }

  /** What is still pending, per action. */
  remaining(): Record<string, number> {
    return Object.fromEntries([...this.pending].map(([action, q]) => [action, q.reduce((n, f) => n + f.left, 0)]));
  }

  clear(): void {
    this.pending.clear();
  }
}
