/** The stand-in's own SageMaker calls to moto, in SageMaker's JSON protocol, answered raw. */
import { AwsError } from './aws-errors.js';

export interface MotoAnswer {
  status: number;
  body: string;
}

export type MotoRpc = (action: string, input: object) => Promise<MotoAnswer>;

export function motoRpc(motoUrl: string, region: string): MotoRpc {
  return async (action, input) => {
    const res = await fetch(motoUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `SageMaker.${action}`,
        // moto reads the region (and nothing else) from the credential scope.
        authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${region}/sagemaker/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify(input),
    });
    return { status: res.status, body: await res.text() };
  };
}

/** The answer's JSON when moto succeeded; moto's own error otherwise. */
export async function motoJson<T>(rpc: MotoRpc, action: string, input: object): Promise<T> {
  const answer = await rpc(action, input);
  if (answer.status === 200) return JSON.parse(answer.body || '{}') as T;
  throw motoError(action, answer);
}

export function motoError(action: string, answer: MotoAnswer): AwsError {
  try {
    const parsed = JSON.parse(answer.body) as { __type?: string; message?: string; Message?: string };
    return new AwsError(
      parsed.__type?.split('#').pop() ?? 'ValidationException',
      parsed.message ?? parsed.Message ?? answer.body,
      answer.status,
    );
  } catch {
    return new AwsError(
      'InternalFailure',
      `moto could not do ${action} (HTTP ${answer.status})`,
      answer.status >= 400 ? answer.status : 500,
    );
  }
}
