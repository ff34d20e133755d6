/** Validation results in Great Expectations' JSON shape (`ExpectationSuiteValidationResult.to_json_dict()`). */
import type { ExceptionInfo, ExpectationConfigJson, ExpectationResult, Statistics } from '../../shared/reports/data-checks.js';

// The shapes are the data-check report's wire schema's (shared/reports/data-checks.ts).
export type { ExceptionInfo, ExpectationConfigJson, ExpectationResult, Statistics } from '../../shared/reports/data-checks.js';

export const NO_EXCEPTION: ExceptionInfo = { raised_exception: false, exception_message: null, exception_traceback: null };

export function statisticsOf(results: readonly ExpectationResult[]): Statistics {
  const successful = results.filter((r) => r.success).length;
  return {
    evaluated_expectations: results.length,
    successful_expectations: successful,
    unsuccessful_expectations: results.length - successful,
    success_percent: results.length ? (successful / results.length) * 100 : null,
  };
}

/** A failed result for an expectation that could not be evaluated, with why. */
export function raisedResult(config: ExpectationConfigJson, message: string, traceback: string | null = null): ExpectationResult {
  return {
    success: false,
    expectation_config: config,
    result: {},
    exception_info: { raised_exception: true, exception_message: message, exception_traceback: traceback },
  };
}
