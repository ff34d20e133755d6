import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../../shared/duration.js';

describe('durations', () => {
  it('parses the units people write', () => {
    assert.equal(parseDuration('500ms', '--x'), 500);
    assert.equal(parseDuration('60s', '--x'), 60_000);
    assert.equal(parseDuration('60', '--x'), 60_000);
    assert.equal(parseDuration('10m', '--x'), 600_000);
    assert.equal(parseDuration('1.5h', '--x'), 5_400_000);
    assert.equal(parseDuration('1d', '--x'), 86_400_000);
  });

  it('names the option and the accepted forms when it cannot', () => {
    assert.throws(() => parseDuration('soon', '--pull'), /--pull: 'soon' is not a duration \(examples: 500ms/);
    assert.throws(() => parseDuration('0s', '--pull'), /above zero/);
  });

  it('formats the shortest exact spelling', () => {
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(86_400_000 + 3_600_000), '1d1h');
  });
});
