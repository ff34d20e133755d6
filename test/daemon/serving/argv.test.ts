/** serve.command without /bin/sh only when the shell would not change what it means. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { directArgv } from '../../../daemon/serving/servers/argv.js';

describe('serve.command as argv', () => {
  it('splits plain words', () => {
    assert.deepEqual(directArgv('python3 serve.py'), ['python3', 'serve.py']);
    assert.deepEqual(directArgv('  python3 -S  serve.py --port=8080 --model ./models/a,b@1 '), [
      'python3',
      '-S',
      'serve.py',
      '--port=8080',
      '--model',
      './models/a,b@1',
    ]);
  });
  it('keeps the shell for anything the shell gives meaning to', () => {
    for (const command of [
      'python3 serve.py > log.txt',
      'python3 serve.py | tee log',
      'cd app && python3 serve.py',
      'python3 serve.py; echo done',
      'python3 "my serve.py"',
      "python3 'serve.py'",
      'python3 $SERVER',
      'python3 serve-*.py',
      'MODEL=a python3 serve.py',
      'exec python3 ~/serve.py',
      'python3 serve.py &',
      'python3 serve.py\npython3 other.py',
      '',
    ]) {
      assert.equal(directArgv(command), null, command);
    }
  });
});
