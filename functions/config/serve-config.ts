// `greygate serve`'s projection of the option table: argv and the environment (flags win) into one
// frozen ServeConfig. A bad value throws UsageError naming the flag or variable and the accepted form.

import { printConfiguration } from './print-config.ts';
import type { ListenAddress } from '../../policy/listen-address.ts';
import { PACKAGED_WHITELIST_DIR } from '../packaged-files.ts';
import { greylistingOptions, type GreylistingOptions } from './greylisting-options.ts';
import { listenAddresses } from './listen-options.ts';
import type { Env } from './option-row.ts';
import { commandLineSource, readOptions } from './option-reader.ts';
import { isLoopbackHost, type HttpListen } from './parsers.ts';
import { UsageError } from './usage-error.ts';
import { statisticsOptions, type StatisticsSettings } from './statistics-options.ts';

export { UsageError };
export type LogFormat = 'text' | 'json';
export type StoreKind = 'sqlite' | 'dynamodb';

export interface ServeConfig extends GreylistingOptions {
  /** Policy-protocol listeners (`--inet`, `--unix`). */
  listen: readonly ListenAddress[];
  exim: boolean;
  listenQueueSize: number;
  maxConnections: number;
  http: HttpListen | null;
  store: StoreKind;
  dbdir: string;
  /** SQLite `synchronous` in WAL mode: `normal` (default) survives process crashes, `full` power loss too. */
  sqliteSync: 'full' | 'normal';
  table: string | null;
  dynamodbEndpoint: string | null;
  logFormat: LogFormat;
  verbose: boolean;
  quiet: boolean;
  whitelistClients: readonly string[];
  whitelistRecipients: readonly string[];
  /** Store keyed hashes (HMAC-SHA-256) instead of clear triplets and client IPs. */
  privacy: boolean;
  /** The HMAC key from GREYGATE_PRIVACY_KEY; null = the one kept in `<dbdir>/privacy.key`. */
  privacyKeyHex: string | null;
  /** SHA-256 hex digests of the accepted HTTP bearer tokens; empty = no auth on loopback. */
  tokenSha256: readonly string[];
  /** SHA-256 hex digests of the accepted admin tokens; empty = admin routes off (404). */
  adminTokenSha256: readonly string[];
  /** Hourly statistics in the store (functions/stats/). */
  statistics: StatisticsSettings;
}

const DEFAULT_CLIENT_WHITELISTS = Object.freeze([`${PACKAGED_WHITELIST_DIR}clients`, '/etc/greygate/whitelist_clients.local']);
const DEFAULT_RECIPIENT_WHITELISTS = Object.freeze([`${PACKAGED_WHITELIST_DIR}recipients`, '/etc/greygate/whitelist_recipients.local']);

export function parseServeConfig(
  argv: readonly string[],
  env: Env = {},
): { config: ServeConfig; help: boolean; version: boolean; printConfig: string | null } {
  const reading = readOptions('serve', commandLineSource('serve', argv, env), env);
  const [extra] = reading.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" (see --help)`);

  const store = reading.get('store');
  const table = reading.get('table');
  if (store === 'dynamodb' && !table) throw new UsageError('--store dynamodb needs --table NAME (or GREYGATE_TABLE)');

  const tokenSha256 = reading.get('token-sha256');
  const http = reading.get('no-http') ? null : reading.get('http');
  if (http && !isLoopbackHost(http.host) && tokenSha256.length === 0) {
    throw new UsageError(
      `${reading.label('http')}: ${http.host} is not a loopback address; an HTTP API reachable from the network needs --token-sha256 (create a token with \`greygate token\`)`,
    );
  }

  const config: ServeConfig = Object.freeze({
    ...greylistingOptions(reading, env),
    listen: Object.freeze(listenAddresses(reading.get('inet'), reading.get('unix'), reading.get('socketmode'))),
    exim: reading.get('exim'),
    listenQueueSize: reading.get('listen-queue-size'),
    maxConnections: reading.get('max-connections'),
    http,
    store,
    dbdir: reading.get('dbdir'),
    sqliteSync: reading.get('sqlite-sync'),
    table,
    dynamodbEndpoint: reading.get('dynamodb-endpoint'),
    logFormat: reading.get('log-format'),
    verbose: reading.get('verbose'),
    quiet: reading.get('quiet'),
    whitelistClients: reading.get('whitelist-clients') ?? DEFAULT_CLIENT_WHITELISTS,
    whitelistRecipients: reading.get('whitelist-recipients') ?? DEFAULT_RECIPIENT_WHITELISTS,
    privacy: reading.get('privacy'),
    privacyKeyHex: reading.get('privacy-key'),
    tokenSha256,
    adminTokenSha256: reading.get('admin-token-sha256'),
    statistics: statisticsOptions(reading),
  });
  return {
    config,
    help: reading.get('help'),
    version: reading.get('version'),
    printConfig: reading.get('print-config') ? printConfiguration('serve', reading) : null,
  };
}
