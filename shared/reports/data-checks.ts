/**
 * What a data check reports (docs/rollouts.md, "Data checks"): Great Expectations' results, the
 * failed expectations with what was observed and a sample of the values at fault, and one line a
 * person understands. The daemon builds it (daemon/checks/), `mlp status` and the TUI read it.
 */
import { z } from 'zod';

export const ENGINES = ['native', 'great_expectations'] as const;
export type Engine = (typeof ENGINES)[number];

export const expectationConfig = z.object({
  type: z.string(),
  kwargs: z.record(z.string(), z.unknown()),
  meta: z.record(z.string(), z.unknown()),
});
export type ExpectationConfigJson = z.infer<typeof expectationConfig>;

export const exceptionInfo = z.object({
  raised_exception: z.boolean(),
  exception_message: z.string().nullable(),
  exception_traceback: z.string().nullable(),
});
export type ExceptionInfo = z.infer<typeof exceptionInfo>;

/** One expectation's result in GX's JSON shape (`ExpectationValidationResult.to_json_dict()`). */
export const expectationResult = z.object({
  success: z.boolean(),
  expectation_config: expectationConfig,
  /**
   * Column map expectations: element_count, unexpected_count, unexpected_percent (of non-null values),
   * partial_unexpected_list (first 20), missing_count, ...; the others: observed_value (and details).
   */
  result: z.record(z.string(), z.unknown()),
  exception_info: exceptionInfo,
});
export type ExpectationResult = z.infer<typeof expectationResult>;

export const statistics = z.object({
  evaluated_expectations: z.number(),
  successful_expectations: z.number(),
  unsuccessful_expectations: z.number(),
  /** null when nothing was evaluated */
  success_percent: z.number().nullable(),
});
export type Statistics = z.infer<typeof statistics>;

export const failedExpectation = z.object({
  expectation: z.object({ type: z.string(), kwargs: z.record(z.string(), z.unknown()) }),
  /** Aggregate expectations (mean, row count, dtype, columns): the value GX observed. */
  observed: z.unknown().optional(),
  /** Column map expectations: how many non-missing values failed, and their share of them. */
  unexpected_count: z.number().optional(),
  unexpected_percent: z.number().nullable().optional(),
  element_count: z.number().optional(),
  /** Some of the failing values (partial_unexpected_list, at most 20). */
  sample: z.array(z.unknown()).optional(),
  /** The expectation could not be evaluated (unknown type, missing column, bad kwargs). */
  error: z.string().optional(),
});
export type FailedExpectation = z.infer<typeof failedExpectation>;

export const dataCheckReport = z.object({
  /** The suite and data as configured. */
  suite: z.string(),
  data: z.string(),
  engine: z.enum(ENGINES),
  success: z.boolean(),
  statistics,
  /** GX's shape: {success, expectation_config: {type, kwargs, meta}, result, exception_info}, in suite order. */
  results: z.array(expectationResult),
  failed: z.array(failedExpectation),
  /** Set when the check could not run at all (suite, data, connection, Python): it then fails. */
  error: z.string().optional(),
  summary: z.string(),
  durationMs: z.number(),
  /** Rows validated. */
  rowCount: z.number().optional(),
  /** Each column's pandas dtype as the engine typed it (int64, float64, bool, str, object, ...). */
  dtypes: z.record(z.string(), z.string()).optional(),
  /** For engine great_expectations: the package versions that ran. */
  engineVersion: z.string().optional(),
});
export type DataCheckReport = z.infer<typeof dataCheckReport>;

/** The data-checks gate's report: one per suite and group, in the order they ran. */
export const dataChecksGateReport = z.array(dataCheckReport);
export type DataChecksGateReport = z.infer<typeof dataChecksGateReport>;
