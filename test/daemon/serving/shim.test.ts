/** A serve.command whose program is a shell script on PATH (a version manager's shim) is named once, in a pipeline's log, with what to do. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLocalServerBackend } from '../../../daemon/serving/servers/servers.js';
import { shellScriptOnPath } from '../../../daemon/serving/servers/shim.js';

describe('serve.command through a shell script on PATH', () => {
  const bin = mkdtempSync(join(tmpdir(), 'mlp-shim-'));
  const script = (name: string, text: string) => {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  };
  script('pyshim', '#!/usr/bin/env bash\nexec sleep "$@"\n');
  script('dashshim', '#!/bin/sh -e\nexec sleep "$@"\n');
  script('pyentry', `#!${process.execPath}\n`);
  after(() => rmSync(bin, { recursive: true, force: true }));

  it('finds a shell script on PATH, whatever the shell; not a program, nor a script of another interpreter, nor a path', () => {
    const path = `${bin}${delimiter}/usr/bin${delimiter}/bin`;
    assert.deepEqual(shellScriptOnPath('pyshim', path), { file: join(bin, 'pyshim'), shebang: '#!/usr/bin/env bash' });
    assert.equal(shellScriptOnPath('dashshim', path)?.shebang, '#!/bin/sh -e');
    assert.equal(shellScriptOnPath('pyentry', path), null);
    assert.equal(shellScriptOnPath('sleep', path), null);
    assert.equal(shellScriptOnPath(join(bin, 'pyshim'), path), null);
    assert.equal(shellScriptOnPath('no-such-program-mlp', path), null);
  });

  it('warns once, in the log of the first pipeline to start it, naming the script and what to write instead', async () => {
    const warnings: string[] = [];
    const backend = createLocalServerBackend({ warn: (pipeline, message) => warnings.push(`${pipeline}: ${message}`) });
    const saved = process.env.PATH;
    process.env.PATH = `${bin}${delimiter}${saved}`;
    try {
      for (const command of ['pyshim 30', 'pyshim 30', 'sleep 30']) {
        const server = await backend.start(
          {
            pipeline: command.startsWith('pyshim') ? 'forecast' : 'churn',
            group: 'london',
            variant: 'v1',
            pipelineDir: bin,
            command,
            modelDir: bin,
            serverId: `test-${randomUUID()}`,
            port: 1,
          },
          () => undefined,
        );
        await server.stop(1_000);
      }
    } finally {
      process.env.PATH = saved;
    }
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(
      warnings[0]!,
      /^forecast: serve\.command starts 'pyshim', which on the daemon's PATH is a shell script \(.*pyshim: #!\/usr\/bin\/env bash\)/,
    );
    assert.match(warnings[0]!, /Name the interpreter itself in serve\.command/);
  });
});
