// The one error type the HTTP layer throws for expected failures; the app's error handler renders
// it as `{ "error": { "code", "message", "field"? } }`. Anything else becomes a 500 without detail.

import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ApiErrorCode =
  | 'invalid-json'
  | 'invalid-field'
  | 'missing-field'
  | 'unauthorized'
  /** An admin route called with a check token. */
  | 'forbidden'
  | 'body-too-large'
  | 'unsupported-media-type'
  | 'not-found'
  | 'method-not-allowed'
  | 'store-unavailable'
  | 'internal';

export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: ApiErrorCode;
  readonly field: string | undefined;
  constructor(status: ContentfulStatusCode, code: ApiErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = options?.field;
  }

  toBody(): { error: { code: ApiErrorCode; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}
