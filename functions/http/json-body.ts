// Reading an admin route's JSON body with /v1/check's limits and errors (app.ts): the size checked
// before anything is buffered, then the content type and the JSON itself.

import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from './api-error.ts';

/** As app.ts's MAX_BODY_BYTES for /v1/check: explain takes the same bodies. */
export const ADMIN_MAX_BODY_BYTES = 64 * 1024;

const tooLarge = (): never => {
  throw new ApiError(413, 'body-too-large', `the body is larger than ${ADMIN_MAX_BODY_BYTES} bytes`);
};
// Streaming limit, for bodies of unknown length (chunked): nothing beyond the limit is buffered.
const streamingLimit = bodyLimit({ maxSize: ADMIN_MAX_BODY_BYTES, onError: tooLarge });

export const limitBody: MiddlewareHandler = async (c, next) => {
  const length = c.req.header('content-length');
  if (length === undefined) return streamingLimit(c, next);
  if (!/^\d+$/.test(length) || Number(length) > ADMIN_MAX_BODY_BYTES) tooLarge();
  await next();
};

export async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError(415, 'unsupported-media-type', 'send the body as JSON with content-type: application/json');
  }
  try {
    return await c.req.json();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(400, 'invalid-json', 'the body is not valid JSON');
  }
}
