// Logging for the policy listeners (serve and bridge).
//
// Text format mimics Postgrey running in the foreground: one message per line on stderr, no
// timestamp (the service manager adds one), warnings prefixed `WARNING: `, so log tooling written
// for Postgrey keeps matching. JSON format is one object per line for log shippers.

export type LogFields = Record<string, unknown>;
export type LogFn = (msg: string, fields?: LogFields) => void;

export interface Logger {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** Present on loggers built by createLogger; a no-op unless `verbose` is set. */
  debug?: LogFn;
  /** False when info lines are dropped (`-q`), so callers can skip building them. */
  infoEnabled?: boolean;
  /** False when the format writes the message alone (text), so callers can skip building fields. */
  fieldsEnabled?: boolean;
}

export interface LoggerOptions {
  format: 'text' | 'json';
  /** Defaults to process.stderr. */
  stream?: NodeJS.WritableStream;
  /** Hide info lines (Postgrey's `-q`): warnings and errors still show. */
  quiet?: boolean;
  /** Enable debug lines (Postgrey's `-v`). */
  verbose?: boolean;
  /** Clock for the JSON `time` field; tests pass a fixed one. */
  now?: () => Date;
}

type Level = 'debug' | 'info' | 'warn' | 'error';

const guarded = new WeakSet<NodeJS.WritableStream>();

const TEXT_PREFIX: Record<Level, string> = { debug: '', info: '', warn: 'WARNING: ', error: 'ERROR: ' };
const RESERVED = new Set(['time', 'level', 'msg']);

export function createLogger(opts: LoggerOptions): Required<Logger> {
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? (() => new Date());
  // A closed stderr (EPIPE, the log reader died) must never take the daemon down with it: an
  // 'error' event without a listener would be thrown as an uncaught exception.
  if (!guarded.has(stream)) {
    guarded.add(stream);
    stream.on('error', () => {});
  }
  const write = (line: string): void => {
    try {
      stream.write(line);
    } catch {
      /* nothing sensible left to report to */
    }
  };

  const emit = (level: Level, msg: string, fields?: LogFields): void => {
    if (opts.format === 'text') {
      write(`${TEXT_PREFIX[level]}${escapeControlChars(msg)}\n`);
      return;
    }
    const record: Record<string, unknown> = { time: now().toISOString(), level, msg };
    if (fields) {
      for (const [key, value] of Object.entries(fields)) {
        if (!RESERVED.has(key)) record[key] = value;
      }
    }
    write(`${safeStringify(record)}\n`);
  };

  const noop: LogFn = () => {};
  return {
    debug: opts.verbose ? (msg, fields) => emit('debug', msg, fields) : noop,
    info: opts.quiet ? noop : (msg, fields) => emit('info', msg, fields),
    infoEnabled: !opts.quiet,
    fieldsEnabled: opts.format === 'json',
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
  };
}

/** A logger that drops everything; for tests and embedders that log elsewhere. */
export const silentLogger: Required<Logger> = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  infoEnabled: false,
  fieldsEnabled: false,
};

// C0 controls, DEL, C1 controls and the Unicode line/paragraph separators: anything that could
// end a log line early or rewrite the terminal. Client-supplied text passes through log lines,
// so one bad request must not be able to forge a second line.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Escape control characters as `\xNN` / `\uNNNN` so a string always prints as one line. */
export function escapeControlChars(text: string): string {
  return text.replace(CONTROL_CHARS, (ch) => {
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** One line describing an unknown thrown value: `Name [CODE]: message`. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const tag = typeof code === 'string' || typeof code === 'number' ? ` [${code}]` : '';
    return `${err.name}${tag}: ${err.message}`;
  }
  return String(err);
}

function safeStringify(record: Record<string, unknown>): string {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(record, (_key, value: unknown) => {
      if (typeof value === 'bigint') return value.toString();
      if (value instanceof Error) return errorToJson(value);
      if (typeof value === 'object' && value !== null) {
        if (seen.has(value)) return '[Circular]';
        seen.add(value);
      }
      return value;
    });
  } catch (err) {
    return JSON.stringify({ time: record.time, level: record.level, msg: record.msg, logError: describeError(err) });
  }
}

function errorToJson(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (err.cause !== undefined) out.cause = err.cause instanceof Error ? errorToJson(err.cause) : String(err.cause);
  return out;
}
