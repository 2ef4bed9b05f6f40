// The bridge's projection of the option table (functions/config/option-table.ts): flags and
// `GREYGATE_*` variables (`--timeout-ms` ↔ GREYGATE_TIMEOUT_MS; flags win), parsed once into a
// frozen object. A bad value throws BridgeUsageError naming the flag or variable and the accepted
// form; the entry file exits 2.
//
// The token itself is not part of the config: the config says where it comes from, and
// bridge-token.ts holds the value, so a logged or printed config can never carry it.

import { readFileSync } from 'node:fs';
import type { Env } from '../functions/config/option-row.ts';
import { commandLineSource, readOptions } from '../functions/config/option-reader.ts';
import { DEFAULT_DEFER_ACTION } from '../functions/config/option-table.ts';
import { listenAddresses } from '../functions/config/listen-options.ts';
import { UsageError } from '../functions/config/usage-error.ts';
import type { ListenAddress } from '../policy/listen-address.ts';

export { DEFAULT_DEFER_ACTION };

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
  /** PEM text of `--ca-file`, added to Node's bundled roots (not the system's store) for the API's TLS. */
  caPem: string | null;
  caFile: string | null;
  logFormat: LogFormat;
  verbose: boolean;
  quiet: boolean;
}

export class BridgeUsageError extends UsageError {
  override readonly name = 'BridgeUsageError';
  override readonly code = 'ERR_BRIDGE_USAGE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Parses argv and the environment: `help` alone with `--help`, else a complete, frozen config or a BridgeUsageError. */
export function parseBridgeConfig(argv: readonly string[], env: Env): { help: true } | { help: false; config: BridgeConfig } {
  try {
    return readBridgeConfig(argv, env);
  } catch (err) {
    if (err instanceof UsageError && !(err instanceof BridgeUsageError)) throw new BridgeUsageError(err.message, { cause: err });
    throw err;
  }
}

function readBridgeConfig(argv: readonly string[], env: Env): { help: true } | { help: false; config: BridgeConfig } {
  const reading = readOptions('bridge', commandLineSource('bridge', argv, env), env);
  if (reading.get('help')) return { help: true };
  const [extra] = reading.positionals;
  if (extra !== undefined) throw new BridgeUsageError(`unexpected argument "${extra}" (see --help)`);

  const api = reading.get('api');
  if (api === null) {
    throw new BridgeUsageError('--api URL is required (or GREYGATE_API): the greygate HTTP API, e.g. https://<id>.lambda-url.<region>.on.aws/');
  }
  const tokenFile = reading.get('token-file');
  // A flag wins over any variable; between the two variables there is no order to guess.
  if (tokenFile !== null && reading.label('token-file') !== '--token-file' && reading.get('token')) {
    throw new BridgeUsageError('GREYGATE_TOKEN_FILE and GREYGATE_TOKEN are both set; keep one (the file is the one SIGHUP re-reads)');
  }
  const token: TokenSource = tokenFile !== null ? { kind: 'file', path: tokenFile } : reading.get('token') ? { kind: 'env' } : { kind: 'none' };

  const caFile = reading.get('ca-file');
  const config: BridgeConfig = Object.freeze({
    listen: listenAddresses(reading.get('inet'), reading.get('unix'), reading.get('socketmode')),
    api: api.base,
    checkUrl: api.checkUrl,
    token,
    timeoutMs: reading.get('timeout-ms'),
    onError: reading.get('on-error'),
    deferAction: reading.get('defer-action'),
    exim: reading.get('exim'),
    maxConnections: reading.get('max-connections'),
    caPem: caFile === null ? null : readCaFile(caFile, reading.label('ca-file')),
    caFile,
    logFormat: reading.get('log-format'),
    verbose: reading.get('verbose'),
    quiet: reading.get('quiet'),
  });
  return { help: false, config };
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
