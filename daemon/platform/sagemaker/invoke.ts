/**
 * Calling one production variant of a SageMaker endpoint directly, past its weights: InvokeEndpoint with
 * TargetVariant (integration tests' commands do the same with MLP_ENDPOINT_NAME and MLP_VARIANT). A model that
 * answered non-2xx is SageMaker's ModelError (424): its OriginalStatusCode and OriginalMessage are what the
 * model said, so replay compares them as it compares a local model's answer. Every request carries an
 * InferenceId starting with REPLAY_INFERENCE_PREFIX, so the capture reader leaves it out of the next replay.
 */
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { randomUUID } from 'node:crypto';
import type { ModelAnswer, ModelClient, ModelConnector } from '../../replay/model-client.js';
import { REPLAY_INFERENCE_PREFIX } from './capture.js';

export function variantConnector(opts: { region: string | undefined; endpoint: string; variant: string }): ModelConnector {
  return {
    connect({ connections, timeoutMs }): ModelClient {
      const client = new SageMakerRuntimeClient({
        ...(opts.region ? { region: opts.region } : {}),
        // The SDK's own handler, with as many sockets as replay keeps requests in flight.
        requestHandler: {
          httpAgent: { maxSockets: connections, keepAlive: true },
          httpsAgent: { maxSockets: connections, keepAlive: true },
        },
      });
      const inFlight = new Set<AbortController>();
      let destroyed = false;
      return {
        async invoke(body, contentType): Promise<ModelAnswer> {
          const started = performance.now();
          const abort = new AbortController();
          inFlight.add(abort);
          const timer = setTimeout(() => abort.abort(), timeoutMs);
          const answer = (a: Omit<ModelAnswer, 'latencyMs'>): ModelAnswer => ({ ...a, latencyMs: performance.now() - started });
          try {
            const out = await client.send(
              new InvokeEndpointCommand({
                EndpointName: opts.endpoint,
                TargetVariant: opts.variant,
                Body: body,
                InferenceId: `${REPLAY_INFERENCE_PREFIX}${randomUUID()}`,
                ...(contentType ? { ContentType: contentType } : {}),
              }),
              { abortSignal: abort.signal },
            );
            return answer({
              status: 200,
              body: Buffer.from(out.Body ?? new Uint8Array()),
              contentType: out.ContentType,
              error: null,
              timedOut: false,
            });
          } catch (err) {
            const e = err as { name?: string; message?: string; OriginalStatusCode?: number; OriginalMessage?: string };
            if (e.name === 'ModelError' && typeof e.OriginalStatusCode === 'number') {
              return answer({
                status: e.OriginalStatusCode,
                body: Buffer.from(e.OriginalMessage ?? ''),
                contentType: undefined,
                error: null,
                timedOut: false,
              });
            }
            if (abort.signal.aborted) {
              const timedOut = !destroyed;
              return answer({
                status: null,
                body: Buffer.alloc(0),
                contentType: undefined,
                error: timedOut ? `timeout after ${timeoutMs} ms` : 'cancelled',
                timedOut,
              });
            }
            return answer({
              status: null,
              body: Buffer.alloc(0),
              contentType: undefined,
              error: `InvokeEndpoint failed (${e.name ?? 'Error'}): ${e.message ?? ''}`,
              timedOut: false,
            });
          } finally {
            clearTimeout(timer);
            inFlight.delete(abort);
          }
        },
        destroy() {
          destroyed = true;
          for (const a of inFlight) a.abort();
          client.destroy();
        },
        async close() {
          client.destroy();
        },
      };
    },
  };
}
