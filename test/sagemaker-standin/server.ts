/**
 * The stand-in's HTTP front: one address for every AWS client (AWS_ENDPOINT_URL and
 * AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME both point here). SageMaker Runtime's InvokeEndpoint is answered
 * here; the SageMaker calls moto gets wrong (endpoint lifecycle) or lacks (UpdateEndpoint) are done here
 * on top of moto; everything else (the rest of SageMaker, S3, CloudWatch, ...) goes to moto unchanged.
 * Tests steer it through /standin/* (faults, flush, reset); /moto-api/reset resets both.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AwsError, sendRestError, sendRpcError } from './aws-errors.js';
import type { Endpoints } from './endpoints.js';
import type { Faults } from './faults.js';
import type { Invoker } from './invoke.js';
import type { Jobs } from './jobs.js';
import { motoJson, type MotoRpc } from './moto-rpc.js';
import { forward } from './proxy.js';

export interface StandinParts {
  motoUrl: string;
  moto: MotoRpc;
  endpoints: Endpoints;
  invoker: Invoker;
  jobs: Jobs;
  faults: Faults;
  /** Writes pending capture records and metrics now. */
  flush(): Promise<void>;
  /** Drops pending capture records and metrics. */
  discardPending(): void;
  log(line: string): void;
}

const INVOCATIONS = /^\/endpoints\/([^/]+)\/invocations$/;

export function createStandinServer(parts: StandinParts): Server {
  return createServer((req, res) => {
    readBody(req)
      .then((body) => route(parts, req, body, res))
      .catch((err: Error) => {
        parts.log(`${req.method} ${req.url}: ${err.stack ?? err.message}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`SageMaker stand-in failure: ${err.message}`);
      });
  });
}

async function route(parts: StandinParts, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  if (path.startsWith('/standin/') || path === '/moto-api/reset') return admin(parts, req, path, body, res);

  const invocation = req.method === 'POST' ? INVOCATIONS.exec(path) : null;
  if (invocation) {
    try {
      const fault = parts.faults.take('InvokeEndpoint');
      if (fault) throw fault;
      await parts.invoker.invoke(decodeURIComponent(invocation[1]!), req, body, res);
    } catch (err) {
      if (!(err instanceof AwsError)) throw err;
      sendRestError(res, err);
    }
    return;
  }

  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target.includes('.')) {
    const [service, action] = [target.slice(0, target.lastIndexOf('.')), target.slice(target.lastIndexOf('.') + 1)];
    const contentType = String(req.headers['content-type'] ?? 'application/x-amz-json-1.1');
    const fault = parts.faults.take(action);
    if (fault) return sendRpcError(res, fault, contentType);
    if (service === 'SageMaker' && action in SAGEMAKER) {
      const input = parseJson(body);
      try {
        await parts.endpoints.settled(input.EndpointName);
        const answer = await SAGEMAKER[action]!(parts, input);
        const text = JSON.stringify(answer);
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
        res.end(text);
      } catch (err) {
        if (!(err instanceof AwsError)) throw err;
        sendRpcError(res, err, contentType);
      }
      return;
    }
  }
  await forward(parts.motoUrl, req, body, res);
}

type Handler = (parts: StandinParts, input: Record<string, any>) => Promise<object>;

/** The SageMaker actions done here; each passes moto's own errors on unchanged. */
const SAGEMAKER: Record<string, Handler> = {
  async CreateEndpoint(parts, input) {
    const answer = await viaMoto(parts, 'CreateEndpoint', input);
    parts.endpoints.created(input.EndpointName, input.EndpointConfigName);
    return answer;
  },
  UpdateEndpoint: (parts, input) => parts.endpoints.update(input),
  async UpdateEndpointWeightsAndCapacities(parts, input) {
    parts.endpoints.assertUpdatable(input.EndpointName);
    const answer = await viaMoto(parts, 'UpdateEndpointWeightsAndCapacities', input);
    parts.endpoints.weightsChanged(input.EndpointName, input.DesiredWeightsAndCapacities ?? []);
    return answer;
  },
  async DescribeEndpoint(parts, input) {
    return parts.endpoints.describe(await viaMoto(parts, 'DescribeEndpoint', input));
  },
  async DeleteEndpoint(parts, input) {
    const answer = await viaMoto(parts, 'DeleteEndpoint', input);
    await parts.endpoints.deleted(input.EndpointName);
    return answer;
  },
  async CreateTrainingJob(parts, input) {
    const answer = await viaMoto(parts, 'CreateTrainingJob', input);
    parts.jobs.startTraining(input);
    return answer;
  },
  async DescribeTrainingJob(parts, input) {
    return parts.jobs.describe('training', await viaMoto(parts, 'DescribeTrainingJob', input));
  },
  async StopTrainingJob(parts, input) {
    return (await parts.jobs.stop('training', input.TrainingJobName)) ?? viaMoto(parts, 'StopTrainingJob', input);
  },
  async CreateProcessingJob(parts, input) {
    const answer = await viaMoto(parts, 'CreateProcessingJob', input);
    parts.jobs.startProcessing(input);
    return answer;
  },
  async DescribeProcessingJob(parts, input) {
    return parts.jobs.describe('processing', await viaMoto(parts, 'DescribeProcessingJob', input));
  },
  async StopProcessingJob(parts, input) {
    return (await parts.jobs.stop('processing', input.ProcessingJobName)) ?? viaMoto(parts, 'StopProcessingJob', input);
  },
};

async function viaMoto(parts: StandinParts, action: string, input: object): Promise<Record<string, any>> {
  return motoJson(parts.moto, action, input);
}

async function admin(parts: StandinParts, req: IncomingMessage, path: string, body: Buffer, res: ServerResponse): Promise<void> {
  const reply = (status: number, value: unknown) => {
    const text = JSON.stringify(value);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const key = `${req.method} ${path}`;
  switch (key) {
    case 'POST /standin/faults':
      try {
        parts.faults.add(JSON.parse(body.toString('utf8')));
      } catch (err) {
        return reply(400, { error: (err as Error).message });
      }
      return reply(200, parts.faults.remaining());
    case 'GET /standin/faults':
      return reply(200, parts.faults.remaining());
    case 'DELETE /standin/faults':
      parts.faults.clear();
      return reply(200, {});
    case 'POST /standin/flush':
      await parts.flush();
      return reply(200, {});
    case 'POST /standin/reset':
    case 'POST /moto-api/reset': {
      parts.faults.clear();
      parts.discardPending();
      await Promise.all([parts.endpoints.reset(), parts.jobs.stopAll()]);
      const moto = await fetch(`${parts.motoUrl}/moto-api/reset`, { method: 'POST' });
      return reply(moto.ok ? 200 : 502, moto.ok ? {} : { error: `moto's reset answered HTTP ${moto.status}` });
    }
    default:
      return reply(404, { error: `no such stand-in route: ${key} (see test/sagemaker-standin/README.md)` });
  }
}

function parseJson(body: Buffer): Record<string, any> {
  try {
    const value: unknown = JSON.parse(body.toString('utf8') || '{}');
    return value && typeof value === 'object' ? (value as Record<string, any>) : {};
  } catch {
    return {}; // moto answers the malformed request itself
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
