/** Request and answer bodies as replay's checks see them. */
import { isUtf8 } from 'node:buffer';
import { declaredEncoding } from '../serving/capture/format.js';

/** A body decoded for a python check: JSON when it is JSON, else text, else base64 (binary). */
export interface DecodedBody {
  body: unknown;
  encoding: 'json' | 'text' | 'base64';
}

/**
 * JSON when the content type says JSON (or says nothing) and the body parses; UTF-8 text otherwise;
 * base64 for bytes that are not UTF-8.
 */
export function decodeBody(buf: Buffer, contentType: string | undefined): DecodedBody {
  if (!isUtf8(buf)) return { body: buf.toString('base64'), encoding: 'base64' };
  const text = buf.toString('utf8');
  if (contentType === undefined || declaredEncoding(contentType) === 'JSON') {
    try {
      return { body: JSON.parse(text), encoding: 'json' };
    } catch {
      // not JSON after all: text
    }
  }
  return { body: text, encoding: 'text' };
}

/** The answer as JSON for path checks, whatever its content type claims; undefined when it is not JSON. */
export function parseJsonAnswer(buf: Buffer): unknown {
  if (buf.length === 0) return undefined;
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    return undefined;
  }
}
