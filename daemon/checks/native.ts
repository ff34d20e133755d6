/**
 * The native engine: evaluates a suite in-process over a loaded table. An expectation it does not
 * know, or a kwarg it does not take, fails that expectation with the reason — never skipped.
 */
import type { Dataset } from './dataset.js';
import { ExpectationError, NATIVE_EXPECTATIONS } from './expectations.js';
import { NO_EXCEPTION, raisedResult, type ExpectationResult } from './results.js';
import type { ExpectationConfig, Suite } from './suite.js';

// Accepted on every expectation; only a row_condition would change what is checked.
const COMMON_KWARGS = new Set(['batch_id', 'row_condition', 'condition_parser']);

export function validateNative(suite: Suite, data: Dataset): ExpectationResult[] {
  return suite.expectations.map((e) => evaluate(e, data));
}

function evaluate(e: ExpectationConfig, data: Dataset): ExpectationResult {
  const config = { type: e.type, kwargs: e.kwargs, meta: e.meta };
  const expectation = NATIVE_EXPECTATIONS[e.type];
  if (!expectation) {
    return raisedResult(
      config,
      `${e.type} is not supported by the native engine: set engine: great_expectations on this data check to run it with the Great Expectations package`,
    );
  }
  const unknown = Object.keys(e.kwargs).filter((k) => !expectation.kwargs.includes(k) && !COMMON_KWARGS.has(k));
  if (unknown.length) {
    return raisedResult(
      config,
      `${e.type} does not take ${unknown.map((k) => `'${k}'`).join(', ')} (it takes ${expectation.kwargs.join(', ')})`,
    );
  }
  if (e.kwargs.row_condition !== undefined && e.kwargs.row_condition !== null && e.kwargs.row_condition !== '') {
    return raisedResult(config, 'row_condition is not supported by the native engine: set engine: great_expectations on this data check');
  }
  try {
    const { success, result } = expectation.evaluate(e.kwargs, data);
    return { success, expectation_config: config, result, exception_info: NO_EXCEPTION };
  } catch (err) {
    if (err instanceof ExpectationError) return raisedResult(config, err.message);
    throw err;
  }
}
