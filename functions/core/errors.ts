// The core's one error class. The core reports bad input as data (ParseResult, whitelist warnings);
// this is thrown only when a caller skips that validation, e.g. keys an address parsePolicyRequest
// would have refused.

export type CoreErrorCode = 'invalid-client-address' | 'no-public-suffix-list';

export class CoreError extends Error {
  readonly code: CoreErrorCode;
  constructor(code: CoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CoreError';
    this.code = code;
  }
}
