// The one error a bad option value raises, whichever runtime reads it. Each entry point turns it
// into its own exit: status 2 for the commands, a 500 answer naming the variable on Lambda, a
// stopped synth for the CDK app.

export class UsageError extends Error {
  readonly code: string = 'usage';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UsageError';
  }
}
