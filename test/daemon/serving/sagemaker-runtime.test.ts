/** The SageMaker runtime protocol's rules: error shapes, TargetModel, the token as the SigV4 access key id, endpoint names. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureEndpoint } from '../../../daemon/serving/capture/layout.js';
import { createRouteTable } from '../../../daemon/serving/router/routes.js';
import { modelFailure, sageMakerError, sigV4Problem, targetModelGroup } from '../../../daemon/serving/router/sagemaker-runtime.js';

const TOKEN = 'a/b+c=d-0123456789';
const sigV4 = (accessKey: string) =>
  `AWS4-HMAC-SHA256 Credential=${accessKey}/20261202/us-east-1/sagemaker/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=${'0'.repeat(64)}`;

describe('SageMaker runtime protocol', () => {
  it('gives each router error the SageMaker type and status the SDKs map to their exceptions', () => {
    const cases: [number, number, string][] = [
      [400, 400, 'ValidationError'],
      [404, 400, 'ValidationError'],
      [405, 400, 'ValidationError'],
      [413, 400, 'ValidationError'],
      [401, 403, 'UnrecognizedClientException'],
      [503, 503, 'ServiceUnavailable'],
    ];
    for (const [mlp, status, type] of cases) {
      const e = sageMakerError(mlp, 'what to fix');
      assert.equal(e.status, status, String(mlp));
      assert.match(e.headers, new RegExp(`^Content-Type: application/json\\r\\nx-amzn-ErrorType: ${type}\\r\\n$`));
      assert.deepEqual(JSON.parse(e.json), { Message: 'what to fix' });
    }
    const failed = modelFailure('v3', 500, '{"error":"boom"}');
    assert.equal(failed.status, 424);
    assert.match(failed.headers, /x-amzn-ErrorType: ModelError\r\n/);
    assert.deepEqual(JSON.parse(failed.json), {
      Message: 'Received server error (500) from v3 with message "{"error":"boom"}"',
      OriginalStatusCode: 500,
      OriginalMessage: '{"error":"boom"}',
    });
    assert.match(JSON.parse(modelFailure('v3', 422, 'bad').json).Message, /^Received client error \(422\)/);
  });

  it('reads a group from TargetModel as itself or its archive', () => {
    assert.equal(targetModelGroup('london'), 'london');
    assert.equal(targetModelGroup('london.tar.gz'), 'london');
    assert.equal(targetModelGroup('São Paulo.tar.gz'), 'São Paulo');
  });

  it('takes the serving token as the SigV4 access key id, whatever its characters, or as a bearer token', () => {
    assert.equal(sigV4Problem(sigV4(TOKEN), TOKEN), null);
    assert.equal(sigV4Problem(`Bearer ${TOKEN}`, TOKEN), null);
    assert.match(sigV4Problem(undefined, TOKEN)!, /use it as the AWS access key id/);
    assert.match(sigV4Problem(sigV4('AKIAEXAMPLE'), TOKEN)!, /the access key id is not the serving token/);
    assert.match(sigV4Problem(sigV4(TOKEN.slice(0, -1)), TOKEN)!, /not the serving token/);
    assert.match(sigV4Problem(sigV4(`${TOKEN}x`), TOKEN)!, /not the serving token/);
    assert.match(sigV4Problem(`AWS4-HMAC-SHA256 Credential=${TOKEN}`, TOKEN)!, /not the serving token/);
    assert.match(sigV4Problem('AWS4-HMAC-SHA256 Signature=00', TOKEN)!, /no 'Credential='/);
    assert.match(sigV4Problem(`Bearer ${TOKEN}x`, TOKEN)!, /wrong serving token/);
  });

  it('finds a group by its SageMaker endpoint name, folded names and any case included', () => {
    const table = createRouteTable();
    table.replace([{ name: 'demand-forecast', groups: ['london', 'São Paulo'], timeoutMs: 1000, captureSamplingPercent: 100 }], []);
    assert.deepEqual(table.endpoint('demand-forecast--london'), { pipeline: 'demand-forecast', group: 'london' });
    assert.deepEqual(table.endpoint('Demand-Forecast--London'), { pipeline: 'demand-forecast', group: 'london' });
    const folded = captureEndpoint('demand-forecast', 'São Paulo');
    assert.match(folded, /^demand-forecast--s-o-paulo-[0-9a-f]{8}$/);
    assert.deepEqual(table.endpoint(folded), { pipeline: 'demand-forecast', group: 'São Paulo' });
    assert.equal(table.endpoint('demand-forecast--paris'), undefined);
    table.replace([{ name: 'demand-forecast', groups: ['paris'], timeoutMs: 1000, captureSamplingPercent: 100 }], []);
    assert.equal(table.endpoint('demand-forecast--london'), undefined, 'names follow the table');
    assert.deepEqual(table.endpoint('demand-forecast--paris'), { pipeline: 'demand-forecast', group: 'paris' });
  });
});
