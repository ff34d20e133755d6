import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandCronMacro, validateCron } from '../../../shared/config/cron.js';

describe('validateCron', () => {
  it('accepts the classic syntax: lists, ranges, steps, names, 7 for Sunday and the macros', () => {
    for (const ok of [
      '0 2 * * 1',
      '*/15 * * * *',
      '0 9-17/2 * * MON-FRI',
      '0,30 8,20 1,15 * *',
      '0 0 1 jan,jul *',
      '0 0 * * 7',
      '0 0 * * 5-7',
      '0 0 29 2 *',
      '  0   2 * *   1 ',
      '@daily',
      '@Hourly',
      '@yearly',
      '@monthly',
      '@weekly',
    ]) {
      assert.equal(validateCron(ok), undefined, ok);
    }
  });

  it('says precisely what is wrong', () => {
    const cases: [string, string][] = [
      ['61 2 * * 1', 'minute 61 is out of range 0-59'],
      ['0 24 * * *', 'hour 24 is out of range 0-23'],
      ['0 0 0 * *', 'day-of-month 0 is out of range 1-31'],
      ['0 0 1 13 *', 'month 13 is out of range 1-12'],
      ['0 0 * * 8', 'day-of-week 8 is out of range 0-7'],
      ['0 2 * *', 'expected 5 fields, got 4 (minute hour day-of-month month day-of-week)'],
      ['0 0 2 * * 1', 'expected 5 fields, got 6 (minute hour day-of-month month day-of-week)'],
      ['', 'expected 5 fields, got 0 (minute hour day-of-month month day-of-week)'],
      ['*/0 * * * *', 'minute step must be at least 1, got 0'],
      ['*/x * * * *', "minute step 'x' is not a whole number"],
      ['30-10 * * * *', "minute range '30-10' goes backwards (30 > 10)"],
      ['5/15 * * * *', "minute step '5/15' needs a range or '*' before the '/' (e.g. '5-59/15' or '*/15')"],
      ['0 0 * * FUN', "day-of-week 'FUN' is not a number 0-7 or a name SUN-SAT"],
      ['0 0 1 FOO *', "month 'FOO' is not a number 1-12 or a name JAN-DEC"],
      ['0 x * * *', "hour 'x' is not a number 0-23"],
      ['0 0 1,,2 * *', "day-of-month '1,,2' has an empty list item"],
      ['0 0 30 2 *', "day-of-month '30' never occurs in month '2', so the schedule would never run"],
      ['@sometimes', "unknown macro '@sometimes' (use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)"],
    ];
    for (const [expression, message] of cases) assert.equal(validateCron(expression), message, expression);
  });
});

describe('expandCronMacro', () => {
  it('spells out macros and leaves expressions alone', () => {
    assert.equal(expandCronMacro('@daily'), '0 0 * * *');
    assert.equal(expandCronMacro('@WEEKLY'), '0 0 * * 0');
    assert.equal(expandCronMacro(' 0 2 * * 1 '), '0 2 * * 1');
  });
});
