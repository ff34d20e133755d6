/**
 * A gate report a client cannot read: a rollout stored by an older mlpd, whose report had another
 * shape. Readers show "report not readable" instead of failing the whole message it came in.
 */
import { z } from 'zod';

export class UnreadableReport {
  constructor(
    /** The report as it came. */
    readonly raw: unknown,
    /** The first thing that did not fit, e.g. `london.baseline: expected "current" | "capture"`. */
    readonly problem: string,
  ) {}

  /** `mlp status --json` prints a report as the daemon sent it, readable or not. */
  toJSON(): unknown {
    return this.raw;
  }
}

/** `schema`, or an UnreadableReport where the value does not fit it. */
export function readable<T extends z.ZodType>(schema: T) {
  return z.union([schema, z.instanceof(UnreadableReport)]).catch((ctx) => new UnreadableReport(ctx.value, firstProblem(ctx.issues)));
}

/** The shape zod reports a problem in; a union's nests each branch's own. */
interface Issue {
  path?: readonly PropertyKey[] | undefined;
  message?: string | undefined;
  errors?: readonly (readonly Issue[])[];
}

/** The first thing that did not fit, following the first branch of a union (the report schema: it says the most). */
function firstProblem(issues: readonly Issue[], at: readonly PropertyKey[] = []): string {
  const first = issues[0];
  if (!first) return 'unknown shape';
  const path = [...at, ...(first.path ?? [])];
  const branch = first.errors?.[0];
  if (branch?.length) return firstProblem(branch, path);
  return `${path.length ? `${path.map(String).join('.')}: ` : ''}${first.message ?? 'unknown shape'}`;
}
