/** `notify:` targets: positioned config errors, defaults, `${VAR}` expansion and the redacted form logs show. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePipelineConfig, parseRepoConfig } from '../../../shared/config/load.js';
import { expandUrl, pipelineTargets, redactUrl, targetLabel, urlTemplateProblem } from '../../../shared/config/notify.js';
import { formatProblem } from '../../../shared/config/problems.js';

const pipeline = (...lines: string[]) => ['pipeline:', '  name: shop', ...lines, ''].join('\n');
const problems = (text: string) => parsePipelineConfig(text, 'pipeline.yaml').problems.map((p) => formatProblem(p));

describe('notify targets in pipeline.yaml and mlp.yaml', () => {
  it('fills in the default events: everything but promoted', () => {
    const { config } = parsePipelineConfig(pipeline('  notify:', '    - url: https://hooks.example.com/mlp'), 'pipeline.yaml');
    assert.deepEqual(config!.pipeline.notify, [
      { url: 'https://hooks.example.com/mlp', on: ['blocked', 'rolled_back', 'failed', 'paused', 'run_failed'] },
    ]);
    assert.deepEqual(parsePipelineConfig(pipeline(), 'pipeline.yaml').config!.pipeline.notify, []);
  });

  it('reports a bad URL at its position, without echoing a secret it may hold', () => {
    assert.deepEqual(problems(pipeline('  notify:', '    - url: ftp://files.example.com/drop', '      on: [blocked]')), [
      "pipeline.yaml:4:12: url must be an http:// or https:// URL, not ftp:, got 'ftp://files.example.com/***'",
    ]);
    assert.deepEqual(problems(pipeline('  notify:', '    - url: hooks.slack.com/services/T0/B0/secret')), [
      "pipeline.yaml:4:12: url is not a URL (expected 'https://host/path'), got '***'",
    ]);
    assert.deepEqual(problems(pipeline('  notify:', '    - url: https://hooks.slack.com/services/${SLACK')), [
      "pipeline.yaml:4:12: url has '${' without a closing '}' (write ${NAME}), got 'https://hooks.slack.com/services/***'",
    ]);
    assert.deepEqual(problems(pipeline('  notify:', '    - url: ${1URL}')), [
      "pipeline.yaml:4:12: url uses ${1URL}: an environment variable name is letters, digits and _, not starting with a digit, got '${1URL}'",
    ]);
  });

  it('reports an unknown event and an empty list at their positions', () => {
    assert.deepEqual(problems(pipeline('  notify:', '    - url: https://a.example.com/x', '      on: [blocked, rolledback]')), [
      "pipeline.yaml:5:21: on[1] must be one of 'blocked', 'rolled_back', 'failed', 'promoted', 'paused', 'run_failed', got 'rolledback' (did you mean 'rolled_back'?)",
    ]);
    assert.deepEqual(problems(pipeline('  notify:', '    - url: https://a.example.com/x', '      on: []')), [
      "pipeline.yaml:5:11: on lists at least one event (leave 'on' out for every event but promoted)",
    ]);
  });

  it('accepts mlp.yaml targets; a pipeline adds to them, one target per URL', () => {
    const repo = parseRepoConfig('notify:\n  - url: ${TEAM_HOOK}\n    on: [blocked]\n', 'mlp.yaml');
    assert.deepEqual(repo.problems, []);
    const own = [
      { url: '${TEAM_HOOK}', on: ['promoted' as const] },
      { url: 'https://b.example.com/x', on: ['run_failed' as const] },
    ];
    assert.deepEqual(pipelineTargets(repo.config!.notify, own), [
      { url: '${TEAM_HOOK}', on: ['blocked', 'promoted'] },
      { url: 'https://b.example.com/x', on: ['run_failed'] },
    ]);
  });
});

describe('URL templates', () => {
  it('expands ${VAR} from the environment and names the variables that are not set', () => {
    assert.deepEqual(expandUrl('https://hooks.slack.com/services/${P}', { P: 'T0/B0/x' }), {
      url: 'https://hooks.slack.com/services/T0/B0/x',
    });
    assert.deepEqual(expandUrl('${A}/${B}', { A: 'https://x' }), { unset: ['B'] });
    assert.deepEqual(expandUrl('${A}', { A: '' }), { unset: ['A'] });
    assert.equal(urlTemplateProblem('${SLACK_WEBHOOK_URL}'), undefined, 'a whole-URL variable is checked at delivery');
  });

  it('redacts the secret parts: user info, query, every path segment but a first of several', () => {
    assert.equal(redactUrl('https://hooks.slack.com/services/T0/B0/secret'), 'https://hooks.slack.com/services/***');
    assert.equal(redactUrl('https://user:pw@alerts.example.com:8443/hook?token=s3cret#x'), 'https://***@alerts.example.com:8443/***?***');
    assert.equal(redactUrl('http://127.0.0.1:5000'), 'http://127.0.0.1:5000');
    assert.equal(redactUrl('${SLACK_WEBHOOK_URL}'), '${SLACK_WEBHOOK_URL}');
    assert.equal(targetLabel('${HOOK}', { HOOK: 'https://chat.example.com/hooks/abc123' }), 'https://chat.example.com/hooks/***');
    assert.equal(targetLabel('${HOOK}', {}), '${HOOK}');
  });
});
