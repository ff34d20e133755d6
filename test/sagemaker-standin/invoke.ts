/**
 * InvokeEndpoint as SageMaker Runtime answers it: the request goes to one live variant (TargetVariant if
 * given, else drawn by weight, so a weight-0 variant is reached only when targeted); 200 with the model's
 * body and `x-Amzn-Invoked-Production-Variant`; a model answering non-2xx gives 424 ModelError with
 * OriginalStatusCode and OriginalMessage; an unknown endpoint or variant gives 400 ValidationError. Every
 * invocation that reached a model counts in the variant's metrics; successful ones are captured.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsError, requestId } from './aws-errors.js';
import type { CaptureWriter } from './capture.js';
import type { Endpoints, LiveVariant } from './endpoints.js';
import type { MetricsPublisher } from './metrics.js';

const ACCOUNT = '123456789012';
const MAX_PAYLOAD = 6 * 1024 * 1024;

export interface Invoker {
  invoke(endpointName: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void>;
}

export function createInvoker(deps: { endpoints: Endpoints; capture: CaptureWriter; metrics: MetricsPublisher; region: string }): Invoker {
  return {
    async invoke(endpointName, req, body, res) {
      const state = deps.endpoints.get(endpointName);
      // An endpoint still Creating (or Failed) has no servers; SageMaker Runtime does not know it yet either.
      if (!state || state.live.size === 0)
        throw new AwsError('ValidationError', `Endpoint ${endpointName} of account ${ACCOUNT} not found.`);
      if (body.length > MAX_PAYLOAD)
        throw new AwsError('ValidationError', `Request payload of ${body.length} bytes exceeds the maximum of ${MAX_PAYLOAD} bytes.`, 413);
      const variant = pickVariant(endpointName, [...state.live.values()], header(req, 'x-amzn-sagemaker-target-variant'));
      const contentType = header(req, 'content-type') ?? 'application/octet-stream';
      const at = new Date();
      const started = process.hrtime.bigint();
      let answer: Response;
      try {
        answer = await fetch(`${variant.server.url}/invocations`, {
          method: 'POST',
          headers: {
            'content-type': contentType,
            ...(header(req, 'accept') ? { accept: header(req, 'accept')! } : {}),
            ...(header(req, 'x-amzn-sagemaker-custom-attributes')
              ? { 'x-amzn-sagemaker-custom-attributes': header(req, 'x-amzn-sagemaker-custom-attributes')! }
              : {}),
          },
          body: new Uint8Array(body),
        });
      } catch (err) {
        deps.metrics.record({
          endpoint: endpointName,
          variant: variant.name,
          at,
          modelStatus: undefined,
          modelLatencyMicros: micros(started),
        });
        throw new AwsError('InternalFailure', `the model server of variant ${variant.name} did not answer: ${(err as Error).message}`, 500);
      }
      const output = Buffer.from(await answer.arrayBuffer());
      deps.metrics.record({
        endpoint: endpointName,
        variant: variant.name,
        at,
        modelStatus: answer.status,
        modelLatencyMicros: micros(started),
      });
      if (answer.status < 200 || answer.status > 299) {
        const text = output.toString('utf8');
        const kind = answer.status < 500 ? 'client' : 'server';
        const logGroup = `/aws/sagemaker/Endpoints/${endpointName}`;
        const logs = `https://${deps.region}.console.aws.amazon.com/cloudwatch/home?region=${deps.region}#logEventViewer:group=${logGroup}`;
        const message = `Received ${kind} error (${answer.status}) from primary with message "${text}". See ${logs} in account ${ACCOUNT} for more information.`;
        throw new AwsError('ModelError', message, 424, {
          OriginalStatusCode: answer.status,
          OriginalMessage: text,
          LogStreamArn: `arn:aws:logs:${deps.region}:${ACCOUNT}:log-group:${logGroup}`,
        });
      }
      const outputType = answer.headers.get('content-type') ?? 'application/json';
      deps.capture.record(state.capture, {
        endpoint: endpointName,
        variant: variant.name,
        at,
        inferenceId: header(req, 'x-amzn-sagemaker-inference-id'),
        input: { contentType, body },
        output: { contentType: outputType, body: output },
      });
      const attributes = answer.headers.get('x-amzn-sagemaker-custom-attributes');
      res.writeHead(200, {
        'content-type': outputType,
        'content-length': output.length,
        'x-amzn-invoked-production-variant': variant.name,
        'x-amzn-requestid': requestId(),
        ...(attributes ? { 'x-amzn-sagemaker-custom-attributes': attributes } : {}),
      });
      res.end(output);
    },
  };
}

function pickVariant(endpoint: string, live: LiveVariant[], target: string | undefined): LiveVariant {
  if (target !== undefined) {
    const variant = live.find((v) => v.name === target);
    if (!variant) throw new AwsError('ValidationError', `The variant(s) "[${target}]" is/are not present in endpoint "${endpoint}".`);
    return variant;
  }
  const weighted = live.filter((v) => v.weight > 0);
  const total = weighted.reduce((sum, v) => sum + v.weight, 0);
  if (total === 0) throw new AwsError('ValidationError', `Endpoint ${endpoint} has no variant in service with a weight above 0.`);
  let draw = Math.random() * total;
  for (const v of weighted) {
    draw -= v.weight;
    if (draw < 0) return v;
  }
  return weighted[weighted.length - 1]!;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function micros(started: bigint): number {
  return Number((process.hrtime.bigint() - started) / 1000n);
}
