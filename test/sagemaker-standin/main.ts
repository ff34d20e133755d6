/**
 * The SageMaker stand-in as a process: `node --import tsx test/sagemaker-standin/main.ts`, configured by
 * its environment, prints `listening <url>` once it answers; SIGTERM removes its containers and ends it.
 *   STANDIN_MOTO_URL          the moto server behind it (required)
 *   STANDIN_PORT              port on 127.0.0.1 (default: any free one)
 *   STANDIN_REGION            default us-east-1
 *   STANDIN_TRANSITION_MS     least time an endpoint stays Creating/Updating (default 500)
 *   STANDIN_FLUSH_MS          how often capture records and metrics are written (default 1000)
 *   STANDIN_PING_TIMEOUT_MS   how long a model container may take to pass /ping (default 30000)
 */
import Docker from 'dockerode';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { testRunLabels } from '../../daemon/test-run.js';
import { DOCKER_SOCKET } from '../helpers/services.js';
import { CaptureWriter } from './capture.js';
import { Endpoints } from './endpoints.js';
import { Faults } from './faults.js';
import { createInvoker } from './invoke.js';
import { Jobs } from './jobs.js';
import { MetricsPublisher } from './metrics.js';
import { createModelContainers } from './model-containers.js';
import { motoRpc } from './moto-rpc.js';
import { createStandinServer } from './server.js';

const env = process.env;
const motoUrl = env.STANDIN_MOTO_URL;
if (!motoUrl) {
  console.error('sagemaker stand-in: set STANDIN_MOTO_URL to the moto server it sits in front of');
  process.exit(2);
}
const number = (name: string, fallback: number) => {
  const value = Number(env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`sagemaker stand-in: ${name} must be a number of milliseconds, got ${env[name]}`);
    process.exit(2);
  }
  return value;
};
const region = env.STANDIN_REGION ?? 'us-east-1';
const clientConfig = { endpoint: motoUrl, region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 };
const log = (line: string) => console.error(`sagemaker stand-in: ${line}`);

const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
const capture = new CaptureWriter(s3);
const metrics = new MetricsPublisher(new CloudWatchClient(clientConfig));
const docker = new Docker({ socketPath: DOCKER_SOCKET });
const instance = `standin-${process.pid}`;
const jobs = new Jobs(docker, s3, testRunLabels(), instance, log);
const containers = createModelContainers({
  docker,
  s3,
  instance,
  labels: testRunLabels(),
  pingTimeoutMs: number('STANDIN_PING_TIMEOUT_MS', 30_000),
});
const moto = motoRpc(motoUrl, region);
const endpoints = new Endpoints(moto, containers, number('STANDIN_TRANSITION_MS', 500), log);
// One flush at a time: a flush asked for by a test returns only once what the timer's flush took is written too.
let flushing = Promise.resolve();
const flush = () => {
  const write = () => Promise.all([capture.flush(), metrics.flush()]).then(() => undefined);
  flushing = flushing.then(write, write);
  return flushing;
};
const server = createStandinServer({
  motoUrl,
  moto,
  endpoints,
  invoker: createInvoker({ endpoints, capture, metrics, region }),
  jobs,
  faults: new Faults(),
  flush,
  discardPending: () => {
    capture.discard();
    metrics.discard();
  },
  log,
});

const flushTimer = setInterval(
  () => {
    flush().catch((err: Error) => log(`writing capture or metrics failed: ${err.message}`));
  },
  number('STANDIN_FLUSH_MS', 1_000),
);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(flushTimer);
  server.close();
  await flush().catch((err: Error) => log(`writing capture or metrics failed: ${err.message}`));
  await Promise.all([containers.stopAll(), jobs.stopAll()]);
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

server.listen(number('STANDIN_PORT', 0), '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(`listening http://127.0.0.1:${port}`);
});
