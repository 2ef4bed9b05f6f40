// The bridge's configuration: flags and `GREYGATE_*` variables (`--timeout-ms` ↔
// GREYGATE_TIMEOUT_MS; flags win), parsed once into a frozen object. A bad value throws
// BridgeUsageError naming the flag or variable and the accepted form; the entry file exits 2.
//
// The token itself is not part of the config: the config says where it comes from, and
// bridge-token.ts holds the value, so a logged or printed config can never carry it.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { envName } from '../functions/config/env-name.ts';
import { parseInetAddress, parseSocketMode, parseUnixAddress, type ListenAddress } from '../policy/listen-address.ts';

export type OnError = 'dunno' | 'defer';
export type LogFormat = 'text' | 'json';
export type TokenSource = { kind: 'file'; path: string } | { kind: 'env' } | { kind: 'none' };

export interface BridgeConfig {
  listen: ListenAddress[];
  /** The API's base URL as given (for logs; never holds credentials). */
  api: string;
  /** `<api>/v1/check`. */
  checkUrl: URL;
  token: TokenSource;
  timeoutMs: number;
  onError: OnError;
  /** What `--on-error defer` answers. */
  deferAction: string;
  exim: boolean;
  maxConnections: number;
  /** PEM text of `--ca-file`, added to Node's default trust for the API's TLS. */
  caPem: string | null;
  caFile: string | null;
  logFormat: LogFormat;
  verbose: boolean;
  quiet: boolean;
}

export class BridgeUsageError extends Error {
  override readonly name = 'BridgeUsageError';
  readonly code = 'ERR_BRIDGE_USAGE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * 3 s: Postfix gives a policy service `timeout=10s` in the recommended setup (100 s by default),
 * and our own answer must reach it first, or Postfix applies its default_action instead of ours
 * and the SMTP client sits waiting. 3 s covers a Lambda cold start (a few hundred ms) plus a TLS
 * handshake and DynamoDB with room to spare, and still leaves 7 s of Postfix's budget unused.
 */
export const DEFAULT_TIMEOUT_MS = 3000;

/**
 * DEFER_IF_PERMIT, like the greylist action itself: a later restriction that rejects (an RBL,
 * reject_unknown_…) still rejects for good, and mail that would be accepted is asked to come back.
 * 4.3.0 ("other mail system problem", RFC 3463) tells the sender's logs it is our fault, not theirs.
 */
export const DEFAULT_DEFER_ACTION = 'DEFER_IF_PERMIT 4.3.0 greylisting service unavailable, please retry later';

const DEFAULT_LISTEN: ListenAddress = { kind: 'inet', host: '127.0.0.1', port: 10023 };
/** Postgrey's socket mode; the directory around the socket is what keeps other users out. */
const DEFAULT_SOCKET_MODE = 0o666;
const MAX_ACTION_CHARS = 512;

const OPTIONS = {
  inet: { type: 'string', short: 'i', multiple: true },
  unix: { type: 'string', short: 'u', multiple: true },
  socketmode: { type: 'string' },
  api: { type: 'string' },
  'token-file': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'on-error': { type: 'string' },
  'defer-action': { type: 'string' },
  exim: { type: 'boolean' },
  'max-connections': { type: 'string' },
  'ca-file': { type: 'string' },
  'log-format': { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = keyof typeof OPTIONS;

/** Reads one option from argv, else from its variable; `label` is what error messages name. */
class Source {
  constructor(
    private readonly values: Partial<Record<OptionName, string | boolean | string[]>>,
    readonly env: Readonly<Record<string, string | undefined>>,
  ) {}

  given(name: OptionName): boolean {
    return this.values[name] !== undefined;
  }

  label(name: OptionName): string {
    return this.given(name) ? `--${name}` : envName(name);
  }

  string(name: OptionName): string | undefined {
    const value = this.values[name];
    if (typeof value === 'string') return value;
    const fromEnv = this.env[envName(name)];
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  }

  list(name: OptionName): string[] | undefined {
    const value = this.values[name];
    if (Array.isArray(value)) return value;
    const fromEnv = this.env[envName(name)];
    if (fromEnv === undefined || fromEnv === '') return undefined;
    return fromEnv.split(',').map((v) => v.trim()).filter((v) => v !== '');
  }

  flag(name: OptionName): boolean {
    if (this.values[name] === true) return true;
    const fromEnv = this.env[envName(name)];
    if (fromEnv === undefined || fromEnv === '') return false;
    if (/^(1|true|yes|on)$/i.test(fromEnv)) return true;
    if (/^(0|false|no|off)$/i.test(fromEnv)) return false;
    throw new BridgeUsageError(`${envName(name)}: expected true or false, got "${fromEnv}"`);
  }
}

/**
 * Parses argv and the environment. With `--help` nothing else is checked and `help` is true
 * (`config` is then absent); otherwise a complete, frozen config or a BridgeUsageError.
 */
export function parseBridgeConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { help: true } | { help: false; config: BridgeConfig } {
  const src = new Source(scan(argv), env);
  if (src.flag('help')) return { help: true };

  const socketModeRaw = src.string('socketmode');
  const socketMode = socketModeRaw === undefined ? DEFAULT_SOCKET_MODE : usage(() => parseSocketMode(socketModeRaw, src.label('socketmode')));
  const listen: ListenAddress[] = [];
  for (const raw of src.list('inet') ?? []) listen.push(usage(() => parseInetAddress(raw, src.label('inet'))));
  for (const raw of src.list('unix') ?? []) listen.push(usage(() => parseUnixAddress(raw, src.label('unix'), socketMode)));
  if (listen.length === 0) listen.push(DEFAULT_LISTEN);

  const api = src.string('api');
  if (api === undefined) {
    throw new BridgeUsageError('--api URL is required (or GREYGATE_API): the greygate HTTP API, e.g. https://<id>.lambda-url.<region>.on.aws/');
  }
  const checkUrl = parseApiUrl(api, src.label('api'));

  const onError = src.string('on-error') ?? 'dunno';
  if (onError !== 'dunno' && onError !== 'defer') {
    throw new BridgeUsageError(`${src.label('on-error')}: "${onError}" is not valid; expected dunno (accept mail while the API fails) or defer`);
  }
  const deferAction = src.string('defer-action') ?? DEFAULT_DEFER_ACTION;
  if (deferAction.trim() === '' || deferAction.length > MAX_ACTION_CHARS || /[\u0000-\u001f\u007f]/.test(deferAction)) {
    throw new BridgeUsageError(
      `${src.label('defer-action')}: expected a Postfix action of at most ${MAX_ACTION_CHARS} characters on one line, e.g. "${DEFAULT_DEFER_ACTION}"`,
    );
  }

  const caFile = src.string('ca-file') ?? null;
  const config: BridgeConfig = Object.freeze({
    listen,
    api,
    checkUrl,
    token: tokenSource(src),
    timeoutMs: integer(src, 'timeout-ms', DEFAULT_TIMEOUT_MS, 10, 60_000, 'milliseconds 10-60000, e.g. 3000'),
    onError,
    deferAction,
    exim: src.flag('exim'),
    maxConnections: integer(src, 'max-connections', 1000, 1, 100_000, 'a whole number 1-100000'),
    caPem: caFile === null ? null : readCaFile(caFile, src.label('ca-file')),
    caFile,
    logFormat: logFormat(src),
    verbose: src.flag('verbose'),
    quiet: src.flag('quiet'),
  });
  return { help: false, config };
}

function scan(argv: readonly string[]): Partial<Record<OptionName, string | boolean | string[]>> {
  try {
    const { values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false });
    return values;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const text = err instanceof Error ? err.message : String(err);
    const option = /'(-[^' ]+)/.exec(text)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new BridgeUsageError(`unknown option ${option ?? text} (see --help)`, { cause: err });
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new BridgeUsageError(`unexpected argument (see --help): ${text}`, { cause: err });
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new BridgeUsageError(option ? `${option} needs a value, or takes none (see --help)` : text, { cause: err });
    }
    throw new BridgeUsageError(text, { cause: err });
  }
}

function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new BridgeUsageError(err instanceof Error ? err.message : String(err), { cause: err });
  }
}

function integer(src: Source, name: OptionName, fallback: number, min: number, max: number, form: string): number {
  const raw = src.string(name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new BridgeUsageError(`${src.label(name)}: "${raw}" is not valid; expected ${form}`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new BridgeUsageError(`${src.label(name)}: ${n} is out of range; expected ${form}`);
  return n;
}

function logFormat(src: Source): LogFormat {
  const raw = src.string('log-format') ?? 'text';
  if (raw !== 'text' && raw !== 'json') throw new BridgeUsageError(`${src.label('log-format')}: "${raw}" is not valid; expected text or json`);
  return raw;
}

function tokenSource(src: Source): TokenSource {
  const path = src.string('token-file');
  // A flag wins over any variable; between the two variables there is no order to guess.
  if (path !== undefined && !src.given('token-file') && (src.env.GREYGATE_TOKEN ?? '') !== '') {
    throw new BridgeUsageError('GREYGATE_TOKEN_FILE and GREYGATE_TOKEN are both set; keep one (the file is the one SIGHUP re-reads)');
  }
  if (path !== undefined) return { kind: 'file', path };
  return (src.env.GREYGATE_TOKEN ?? '') === '' ? { kind: 'none' } : { kind: 'env' };
}

const API_FORM = 'https://HOST[:PORT][/PATH], or http://127.0.0.1:PORT for an API on this host';

/** Loopback only for plain http: the token and every sender address would cross the network in clear. */
export function parseApiUrl(raw: string, label: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    // The value is not echoed: a mistyped URL may still carry a password.
    throw new BridgeUsageError(`${label}: not a URL; expected ${API_FORM}`, { cause: err });
  }
  if (url.username !== '' || url.password !== '') {
    throw new BridgeUsageError(`${label}: credentials in the URL are not accepted; put the token in --token-file and give the URL without them`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new BridgeUsageError(`${label}: "${url.protocol}" is not supported; expected ${API_FORM}`);
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new BridgeUsageError(`${label}: http:// is only allowed for a loopback host (127.0.0.1, ::1, localhost); use https:// for ${url.hostname}`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new BridgeUsageError(`${label}: expected the API's base URL without ?query or #fragment; ${API_FORM}`);
  }
  // The deploy output ends in `/` (`…on.aws/`); an API behind a path prefix keeps its prefix.
  const base = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  return new URL(`${base}v1/check`, url);
}

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function readCaFile(path: string, label: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new BridgeUsageError(`${label}: cannot read ${path} (${typeof code === 'string' ? code : 'error'}); expected a PEM file of CA certificates`, {
      cause: err,
    });
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new BridgeUsageError(`${label}: ${path} holds no PEM certificate; expected one or more "-----BEGIN CERTIFICATE-----" blocks`);
  }
  return text;
}
