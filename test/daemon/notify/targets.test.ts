/** Each pipeline's targets are mlp.yaml's plus its own; a variable mlpd lacks is said when the config comes into force. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../../daemon/log.js';
import { notifyTargets } from '../../../daemon/notify/targets.js';
import { createRegistry } from '../../../daemon/repo/registry.js';
import { makeRepo } from '../../helpers/repo.js';
import { freshStore } from '../store/helpers.js';

const pipeline = (name: string, notify = '') =>
  `pipeline:\n  name: ${name}\n${notify}  steps:\n    - name: train\n      command: python3 train.py\n`;

describe('notification targets in force', () => {
  const repo = makeRepo({
    'mlp.yaml': 'notify:\n  - url: https://alerts.example.com/mlp\n',
    'forecast/pipeline.yaml': pipeline(
      'forecast',
      '  notify:\n    - url: https://hooks.slack.com/services/${SLACK_HOOK_PATH}\n      on: [promoted]\n',
    ),
    'churn/pipeline.yaml': pipeline('churn'),
  });
  after(() => rmSync(repo, { recursive: true, force: true }));

  function setUp(env: Record<string, string>) {
    const lines: string[] = [];
    const log = createLogger({ write: (line) => lines.push(line) });
    const registry = createRegistry({ root: repo, store: freshStore(), log: createLogger({ write: () => undefined }) });
    registry.reload();
    return { targets: notifyTargets({ registry, log, env }), lines };
  }

  it("gives a pipeline mlp.yaml's targets, then its own", () => {
    const { targets } = setUp({});
    assert.deepEqual(
      targets.of('forecast').map((t) => t.url),
      ['https://alerts.example.com/mlp', 'https://hooks.slack.com/services/${SLACK_HOOK_PATH}'],
    );
    assert.deepEqual(
      targets.of('churn').map((t) => t.url),
      ['https://alerts.example.com/mlp'],
    );
  });

  it('warns on the pipeline about a variable its target needs and mlpd lacks, without the URL', () => {
    const { targets, lines } = setUp({});
    targets.checkEnvironment(['forecast', 'churn']);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0]!,
      /warn {2}notify forecast: target https:\/\/hooks\.slack\.com\/services\/\*\*\*: \$\{SLACK_HOOK_PATH\} is not set in mlpd's environment/,
    );
  });

  it('says nothing once the variable is set', () => {
    const { targets, lines } = setUp({ SLACK_HOOK_PATH: 'T0/B0/secret' });
    targets.checkEnvironment(['forecast', 'churn']);
    assert.deepEqual(lines, []);
  });
});
