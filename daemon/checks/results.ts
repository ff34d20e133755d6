/** Validation results in Great Expectations' JSON shape (`ExpectationSuiteValidationResult.to_json_dict()`). */

export interface ExpectationConfigJson {
  type: string;
  kwargs: Record<string, unknown>;
  meta: Record<string, unknown>;
}

export interface ExceptionInfo {
  raised_exception: boolean;
  exception_message: string | null;
  exception_traceback: string | null;
}

export interface ExpectationResult {
  success: boolean;
  expectation_config: ExpectationConfigJson;
  /**
   * Column map expectations: element_count, unexpected_count, unexpected_percent (of non-null values),
   * partial_unexpected_list (first 20), missing_count, ...; the others: observed_value (and details).
   */
  result: Record<string, unknown>;
  exception_info: ExceptionInfo;
}

export interface Statistics {
  evaluated_expectations: number;
  successful_expectations: number;
  unsuccessful_expectations: number;
  /** null when nothing was evaluated */
  success_percent: number | null;
}

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
