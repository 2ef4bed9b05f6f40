// Reading a JSON body, for /v1/check (app.ts) and the admin routes alike: the size checked before
// anything is buffered, then the content type and the JSON itself.

import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from './api-error.ts';

// 100 attributes of up to 512 characters, JSON-escaped: the largest request the bridge can forward.
export const MAX_BODY_BYTES = 64 * 1024;

const tooLarge = (): never => {
  throw new ApiError(413, 'body-too-large', `the body is larger than ${MAX_BODY_BYTES} bytes`);
};
// Streaming limit, for bodies of unknown length (chunked): nothing beyond the limit is buffered.
const streamingLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });

export const limitBody: MiddlewareHandler = async (c, next) => {
  // With a Content-Length the size is known up front, and the body can then be read in one
  // piece (node-server's fast path); going through the stream as bodyLimit does builds a web
  // ReadableStream per request, a large share of the API's CPU time.
  const length = c.req.header('content-length');
  if (length === undefined) return streamingLimit(c, next);
  if (!/^\d+$/.test(length) || Number(length) > MAX_BODY_BYTES) tooLarge();
  await next();
};

/** The parsed body; `what` names it in the content-type error (`the attributes` for /v1/check). */
export async function readJson(c: Context, what = 'the body'): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError(415, 'unsupported-media-type', `send ${what} as JSON with content-type: application/json`);
  }
  try {
    return await c.req.json();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(400, 'invalid-json', 'the body is not valid JSON');
  }
}
