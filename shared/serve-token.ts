/**
 * The optional bearer token of the serving port. One environment variable for both ends: `mlpd`
 * reads it at start (set: every invocation must carry it; unset: the port is open to whoever can
 * reach it), and `mlp invoke` sends it. It is an environment variable rather than a key of mlp.yaml
 * because mlp.yaml lives in git and a secret must not.
 */
import { usageError } from './errors.js';

export const SERVE_TOKEN_ENV = 'MLP_SERVE_TOKEN';

/** Shorter secrets are refused: the port may be reachable from the network, and guessable tokens invite guessing. */
export const MIN_SERVE_TOKEN_LENGTH = 16;

/** The serving token in `env`, or undefined when none is set; one that cannot work is a usage error. */
export function serveTokenFrom(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const raw = env[SERVE_TOKEN_ENV];
  if (raw === undefined || raw.trim() === '') return undefined;
  const token = raw.trim();
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw usageError(
      `${SERVE_TOKEN_ENV}: the token must be printable ASCII without spaces, to travel in an 'Authorization: Bearer' header (e.g. openssl rand -hex 32)`,
    );
  }
  if (token.length < MIN_SERVE_TOKEN_LENGTH) {
    throw usageError(
      `${SERVE_TOKEN_ENV}: the token is ${token.length} characters; use at least ${MIN_SERVE_TOKEN_LENGTH} (e.g. openssl rand -hex 32)`,
    );
  }
  return token;
}
