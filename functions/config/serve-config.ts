// One typed configuration for every runtime, parsed once. Each option has a CLI flag (Postgrey's
// name where Postgrey has one) and an environment variable of the same name
// (`--max-age` ↔ `GREYGATE_MAX_AGE`); flags win over the environment. A bad value stops start-up with
// a message naming the flag (or variable) and the accepted form.

import { hostname as osHostname } from 'node:os';
import { isIP } from 'node:net';
import { PACKAGED_WHITELIST_DIR } from '../packaged-files.ts';
import { parseInetAddress, type ListenAddress } from '../../policy/listen-address.ts';
import { DEFAULT_POLICY_CONFIG, type PolicyConfig } from '../core/policy-config.ts';
import type { DnsListZone, SelectiveSettings } from '../selective/selective.ts';
import { scanArgs, UsageError, type OptionSpec } from './cli-args.ts';
import { envName } from './env-name.ts';
import { OptionSource, parseInteger } from './option-source.ts';
import { parseSelectiveOptions } from '../selective/selective-options.ts';

export { envName, UsageError };

export type LogFormat = 'text' | 'json';
export type StoreKind = 'sqlite' | 'dynamodb';

export interface HttpListen {
  host: string;
  port: number;
}

export interface ServeConfig {
  policy: PolicyConfig;
  /** Policy-protocol listeners (`--inet`, `--unix`). */
  listen: ListenAddress[];
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
  whitelistClients: string[];
  whitelistRecipients: string[];
  /** Store keyed hashes (HMAC-SHA-256) instead of clear triplets and client IPs. */
  privacy: boolean;
  /** SHA-256 hex digests of the accepted HTTP bearer tokens; empty = no auth on loopback. */
  tokenSha256: string[];
  /** Selective greylisting (docs/selective-greylisting.md); mode `off` keeps Postgrey's behaviour. */
  selective: SelectiveSettings;
  /** `--dnsbl` then `--dnswl` zones, in the order given; only with `--selective score`. */
  dnsLists: DnsListZone[];
  dnsTimeoutMs: number;
  /** `IP` / `IP:PORT` / `[IPv6]:PORT`; null = the system's resolvers. */
  dnsServers: string[] | null;
}


const DEFAULT_CLIENT_WHITELISTS = [
  `${PACKAGED_WHITELIST_DIR}clients`,
  '/etc/greygate/whitelist_clients.local',
];
const DEFAULT_RECIPIENT_WHITELISTS = [
  `${PACKAGED_WHITELIST_DIR}recipients`,
  '/etc/greygate/whitelist_recipients.local',
];

/** Options of `greygate serve`. Postgrey's names first, greygate's own after. */
export const SERVE_OPTIONS: readonly OptionSpec[] = [
  { name: 'inet', kind: 'value', repeatable: true, aliases: ['i'] },
  { name: 'unix', kind: 'value', repeatable: true, aliases: ['u'] },
  { name: 'socketmode', kind: 'value' },
  { name: 'delay', kind: 'value' },
  { name: 'max-age', kind: 'value' },
  { name: 'retry-window', kind: 'value' },
  { name: 'greylist-action', kind: 'value' },
  { name: 'greylist-text', kind: 'value' },
  { name: 'x-greylist-header', kind: 'value' },
  { name: 'lookup-by-subnet', kind: 'flag' },
  { name: 'lookup-by-host', kind: 'flag' },
  { name: 'ipv4cidr', kind: 'value' },
  { name: 'ipv6cidr', kind: 'value' },
  { name: 'auto-whitelist-clients', kind: 'optional-value' },
  { name: 'whitelist-clients', kind: 'value', repeatable: true },
  { name: 'whitelist-recipients', kind: 'value', repeatable: true },
  { name: 'privacy', kind: 'flag' },
  { name: 'hostname', kind: 'value' },
  { name: 'exim', kind: 'flag' },
  { name: 'listen-queue-size', kind: 'value' },
  { name: 'verbose', kind: 'flag', aliases: ['v'] },
  { name: 'quiet', kind: 'flag', aliases: ['q'] },
  // Postgrey's process-management options: systemd does this job now; refusing them is clearer
  // than ignoring them (an admin would otherwise believe privileges were dropped).
  { name: 'daemonize', kind: 'flag', aliases: ['d'] },
  { name: 'pidfile', kind: 'value' },
  { name: 'user', kind: 'value' },
  { name: 'group', kind: 'value' },
  { name: 'syslog-facility', kind: 'value', aliases: ['syslogfacility', 'facility'] },
  // greygate's own
  { name: 'dbdir', kind: 'value' },
  { name: 'sqlite-sync', kind: 'value' },
  { name: 'http', kind: 'value' },
  { name: 'no-http', kind: 'flag' },
  { name: 'log-format', kind: 'value' },
  { name: 'max-connections', kind: 'value' },
  { name: 'store', kind: 'value' },
  { name: 'table', kind: 'value' },
  { name: 'dynamodb-endpoint', kind: 'value' },
  { name: 'token-sha256', kind: 'value', repeatable: true },
  { name: 'selective', kind: 'value' },
  { name: 's25r-ipv6', kind: 'value' },
  { name: 'greylist-score', kind: 'value' },
  { name: 's25r-weight', kind: 'value' },
  { name: 'dnsbl', kind: 'value', repeatable: true },
  { name: 'dnswl', kind: 'value', repeatable: true },
  { name: 'dns-timeout-ms', kind: 'value' },
  { name: 'dns-servers', kind: 'value', repeatable: true },
  { name: 'help', kind: 'flag', aliases: ['h'] },
  { name: 'version', kind: 'flag' },
];

const UNSUPPORTED_POSTGREY_OPTIONS: Record<string, string> = {
  daemonize: 'run greygate under systemd (see docs/postfix.md) instead of --daemonize',
  pidfile: 'systemd tracks the process; --pidfile is not needed',
  user: 'let systemd pick the user (User= or DynamicUser=) instead of --user',
  group: 'let systemd pick the group (Group=) instead of --group',
  'syslog-facility': 'greygate logs to stderr; journald or your syslog daemon sets the facility',
};

/** Postgrey's `--retry-window=N` (days) or `Nh` (hours). */
export function parseRetryWindow(raw: string, label: string): number {
  const m = /^(\d+)([hd]?)$/.exec(raw.trim());
  if (!m) throw new UsageError(`${label}: "${raw}" is not valid; expected N (days) or Nh (hours), e.g. 2 or 12h`);
  const n = Number(m[1]);
  const seconds = m[2] === 'h' ? n * 3600 : n * 86_400;
  if (seconds <= 0) throw new UsageError(`${label}: the retry window must be longer than zero`);
  return seconds;
}

function parseHttpListen(raw: string, label: string): HttpListen {
  const address = parseInetAddress(raw, label);
  if (address.kind !== 'inet') throw new UsageError(`${label}: expected [HOST:]PORT, e.g. 127.0.0.1:8080`);
  return { host: address.host, port: address.port };
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function packageVersion(): string {
  return DEFAULT_POLICY_CONFIG.version;
}

/**
 * The zone of `%d` (Postgrey: the host's local time). `TZ` answers without asking ICU, which costs
 * ~15 ms at start-up (felt on every Lambda cold start; Lambda sets TZ=:UTC). POSIX rule strings
 * such as `EST5EDT,M3.2.0,M11.1.0` are not IANA names: those fall back to ICU's view of local time.
 */
function localTimeZone(env: Readonly<Record<string, string | undefined>>): string {
  const tz = env.TZ?.replace(/^:/, '');
  if (tz && /^(UTC|Etc\/UTC|[A-Za-z_]+\/[A-Za-z_+\-/0-9]+)$/.test(tz)) return tz;
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/**
 * Parses `greygate serve` options from argv and the environment into a frozen config.
 * Throws UsageError with a message naming the flag and the accepted form.
 */
export function parseServeConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): { config: ServeConfig; help: boolean; version: boolean } {
  const { options, positionals } = scanArgs(argv, SERVE_OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (see --help)`);
  const src = new OptionSource(options, env, SERVE_OPTIONS);

  for (const [name, advice] of Object.entries(UNSUPPORTED_POSTGREY_OPTIONS)) {
    if (src.flag(name)) throw new UsageError(`--${name} is not supported: ${advice}`);
  }

  const int = src.integer.bind(src);

  const socketModeRaw = src.one('socketmode');
  let socketMode = 0o666;
  if (socketModeRaw !== undefined) {
    if (!/^0?[0-7]{3}$/.test(socketModeRaw)) {
      throw new UsageError(`${src.label('socketmode')}: "${socketModeRaw}" is not valid; expected an octal mode such as 0660`);
    }
    socketMode = parseInt(socketModeRaw, 8);
  }

  const listen: ListenAddress[] = [];
  for (const raw of src.all('inet') ?? []) {
    try {
      listen.push(parseInetAddress(raw, src.label('inet')));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  for (const path of src.all('unix') ?? []) {
    if (path === '') throw new UsageError(`${src.label('unix')}: expected a socket path`);
    listen.push({ kind: 'unix', path, mode: socketMode });
  }
  // Postgrey demands --inet or --unix; greygate defaults to Postgrey's usual port so that
  // `npm start` alone gives a working policy server.
  if (listen.length === 0) listen.push({ kind: 'inet', host: '127.0.0.1', port: 10023 });

  const awlRaw = src.all('auto-whitelist-clients');
  let autoWhitelistClients = DEFAULT_POLICY_CONFIG.autoWhitelistClients;
  if (awlRaw !== undefined) {
    const last = awlRaw[awlRaw.length - 1] ?? '';
    autoWhitelistClients =
      last === '' ? 5 : parseInteger(last, src.label('auto-whitelist-clients'), 0, 1_000_000, 'a whole number N >= 0 (0 disables)');
  }

  const lookupByHost = src.flag('lookup-by-host');
  if (lookupByHost && src.flag('lookup-by-subnet') && options.has('lookup-by-subnet')) {
    throw new UsageError('--lookup-by-host and --lookup-by-subnet contradict each other; give one');
  }

  const logFormatRaw = src.one('log-format') ?? 'text';
  if (logFormatRaw !== 'text' && logFormatRaw !== 'json') {
    throw new UsageError(`${src.label('log-format')}: "${logFormatRaw}" is not valid; expected text or json`);
  }

  const storeRaw = src.one('store') ?? 'sqlite';
  if (storeRaw !== 'sqlite' && storeRaw !== 'dynamodb') {
    throw new UsageError(`${src.label('store')}: "${storeRaw}" is not valid; expected sqlite or dynamodb`);
  }
  const sqliteSync = src.one('sqlite-sync') ?? 'normal';
  if (sqliteSync !== 'full' && sqliteSync !== 'normal') {
    throw new UsageError(`${src.label('sqlite-sync')}: "${sqliteSync}" is not valid; expected full or normal`);
  }
  const table = src.one('table') ?? null;
  if (storeRaw === 'dynamodb' && !table) {
    throw new UsageError('--store dynamodb needs --table NAME (or GREYGATE_TABLE)');
  }

  const tokenSha256 = (src.all('token-sha256') ?? []).map((h) => h.toLowerCase());
  for (const hash of tokenSha256) {
    if (!/^[0-9a-f]{64}$/.test(hash)) {
      throw new UsageError(`${src.label('token-sha256')}: "${hash}" is not a SHA-256 hex digest (64 hex digits); create one with \`greygate token\``);
    }
  }

  let http: HttpListen | null = { host: '127.0.0.1', port: 8080 };
  if (src.flag('no-http')) http = null;
  else {
    const raw = src.one('http');
    if (raw !== undefined) http = parseHttpListen(raw, src.label('http'));
  }
  if (http && !isLoopbackHost(http.host) && tokenSha256.length === 0) {
    throw new UsageError(
      `${src.label('http')}: ${http.host} is not a loopback address; an HTTP API reachable from the network needs --token-sha256 (create a token with \`greygate token\`)`,
    );
  }

  const greylistAction = src.one('greylist-action') ?? DEFAULT_POLICY_CONFIG.greylistAction;
  if (!/^\S+$/.test(greylistAction)) {
    throw new UsageError(`${src.label('greylist-action')}: "${greylistAction}" is not valid; expected one word such as DEFER_IF_PERMIT or 451`);
  }
  const textOption = (name: string, fallback: string): string => {
    const value = src.one(name) ?? fallback;
    if (/[\r\n]/.test(value)) throw new UsageError(`${src.label(name)}: the text must be a single line`);
    return value;
  };

  const retryRaw = src.one('retry-window');
  const policy: PolicyConfig = Object.freeze({
    delaySeconds: int('delay', DEFAULT_POLICY_CONFIG.delaySeconds, 0, 30 * 86_400, 'seconds, e.g. 300'),
    maxAgeDays: int('max-age', DEFAULT_POLICY_CONFIG.maxAgeDays, 1, 3650, 'days, e.g. 35'),
    retryWindowSeconds:
      retryRaw === undefined ? DEFAULT_POLICY_CONFIG.retryWindowSeconds : parseRetryWindow(retryRaw, src.label('retry-window')),
    greylistAction,
    greylistText: textOption('greylist-text', DEFAULT_POLICY_CONFIG.greylistText),
    xGreylistHeader: textOption('x-greylist-header', DEFAULT_POLICY_CONFIG.xGreylistHeader),
    lookupByHost,
    ipv4Cidr: int('ipv4cidr', DEFAULT_POLICY_CONFIG.ipv4Cidr, 1, 32, 'a prefix length 1-32'),
    ipv6Cidr: int('ipv6cidr', DEFAULT_POLICY_CONFIG.ipv6Cidr, 1, 128, 'a prefix length 1-128'),
    autoWhitelistClients,
    hostname: src.one('hostname') ?? osHostname(),
    version: packageVersion(),
    timeZone: localTimeZone(env),
  });

  const { selective, dnsLists, dnsTimeoutMs, dnsServers } = parseSelectiveOptions(src);

  const verbose = src.flag('verbose');
  const quiet = src.flag('quiet');

  const config: ServeConfig = Object.freeze({
    policy,
    listen,
    exim: src.flag('exim'),
    // Postgrey caps the backlog at 999; keep the same ceiling.
    listenQueueSize: int('listen-queue-size', 511, 1, 999, 'a whole number 1-999'),
    maxConnections: int('max-connections', 1000, 1, 100_000, 'a whole number 1-100000'),
    http,
    store: storeRaw,
    dbdir: src.one('dbdir') ?? './data',
    sqliteSync,
    table,
    dynamodbEndpoint: src.one('dynamodb-endpoint') ?? null,
    logFormat: logFormatRaw,
    verbose,
    quiet,
    whitelistClients: src.all('whitelist-clients') ?? DEFAULT_CLIENT_WHITELISTS,
    whitelistRecipients: src.all('whitelist-recipients') ?? DEFAULT_RECIPIENT_WHITELISTS,
    privacy: src.flag('privacy'),
    tokenSha256,
    selective,
    dnsLists,
    dnsTimeoutMs,
    dnsServers,
  });
  return { config, help: src.flag('help'), version: src.flag('version') };
}
