// Every option of greygate, one row each: flag, variable, CDK context key, accepted form, default,
// and which runtimes take it. `--help`, docs/configuration.md, docs/bridge.md and the CDK context
// keys are generated from these rows (test/config/option-table.test.ts keeps the docs in step), and
// option-reader.ts refuses an option where a runtime does not take it.
//
// Longer than the usual module on purpose: it is a table, and its value is in seeing every option
// in one place. Adding an option is a row here plus its use in a runtime's projection.

import { hostname as osHostname } from 'node:os';
import { parseInetAddress, parseSocketMode, parseUnixAddress } from '../../policy/listen-address.ts';
import { DEFAULT_POLICY_CONFIG } from '../core/policy-config.ts';
import { CLIENT_SIGNAL_NAMES, DEFAULT_DNSBL_WEIGHT, DEFAULT_DNSWL_WEIGHT, DEFAULT_SELECTIVE_SETTINGS } from '../selective/selective.ts';
import { choice, integer, lastValue, list, onOff, row, single, type OptionRow, type ReadContext } from './option-row.ts';
import {
  MAX_DNS_LIST_WEIGHT,
  parseActionText,
  parseApiUrl,
  parseDnsListZone,
  parseDnsServer,
  parseHttpListen,
  parseInteger,
  parseMetricsNamespace,
  parsePrivacyKey,
  parseRetryWindow,
  parseSignalWeight,
  parseSingleLine,
  parseTokenSha256,
} from './parsers.ts';
import { PRESET_NAMES, PRESETS } from './presets.ts';
import { UsageError } from './usage-error.ts';

/** Errors of policy/'s address parsers, which know nothing of UsageError, become one. */
function address<T>(parse: (raw: string, label: string) => T): (raw: string, label: string) => T {
  return (raw, label) => {
    try {
      return parse(raw, label);
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err), { cause: err });
    }
  };
}

const text = (raw: string): string => raw;

/** `%h` of the X-Greylist header: a Lambda's host name says nothing, the function's name does. */
function defaultHostname(context: ReadContext): string {
  const functionName = context.env.AWS_LAMBDA_FUNCTION_NAME?.trim();
  return context.runtime === 'lambda' && functionName ? functionName : osHostname();
}
const weightForm = `a whole number 0-${MAX_DNS_LIST_WEIGHT}`;
const POLICY_RUNTIMES = ['serve', 'lambda', 'cdk'] as const;
const SELECTIVE_RUNTIMES = POLICY_RUNTIMES;
const LOG_RUNTIMES = ['serve', 'lambda', 'bridge'] as const;
const LISTENER_RUNTIMES = ['serve', 'bridge'] as const;

/** A Postgrey option that systemd replaces: refused with advice, never silently ignored. */
function postgreyOnly(name: string, kind: 'flag' | 'value', refusal: string, aliases?: readonly string[]): OptionRow<boolean> {
  return row(name, {
    kind,
    ...(aliases ? { aliases } : {}),
    form: kind === 'value' ? 'X' : '',
    runtimes: ['serve'],
    group: 'meta',
    help: '',
    doc: '',
    defaultText: '',
    refusal,
    read: (given) => given !== undefined,
  });
}

/** `--dnsbl` and `--dnswl`: one row each, alike but for the kind of list and its default weight. */
function dnsListRow(kind: 'dnsbl' | 'dnswl', what: string, effect: string, defaultWeight: number) {
  return row(kind, {
    repeatable: true,
    form: 'ZONE[=W]',
    cdk: { key: `greygate:${kind}`, prop: kind, shape: 'text' },
    runtimes: SELECTIVE_RUNTIMES,
    group: 'selective',
    help: `score mode: a DNS ${what} list, a hit ${effect.replace(')', '; repeatable)')}`,
    doc: `Score mode: a DNS ${what} list; a hit ${effect}. Repeatable.`,
    docFor: {
      lambda: `Score mode: DNS ${what} lists, comma-separated; a hit ${effect}.`,
      cdk: `Score mode: DNS ${what} lists, comma-separated; a hit ${effect}.`,
    },
    defaultText: 'none',
    read: list((raw, label) => parseDnsListZone(raw, kind, label, defaultWeight), Object.freeze([])),
  });
}

/** The bridge's default answer when the API fails; see docs/bridge.md for why DEFER_IF_PERMIT and 4.3.0. */
export const DEFAULT_DEFER_ACTION = 'DEFER_IF_PERMIT 4.3.0 greylisting service unavailable, please retry later';
/**
 * The bridge's budget per request: Postfix gives a policy service `timeout=10s` in the recommended
 * setup, and our own answer must reach it first. 3 s covers a Lambda cold start plus a TLS
 * handshake and DynamoDB, and leaves most of Postfix's budget unused.
 */
export const DEFAULT_BRIDGE_TIMEOUT_MS = 3000;
export const DEFAULT_STACK_NAME = 'Greygate';
export const DEFAULT_METRICS_NAMESPACE = 'Greygate';

export const OPTIONS = {
  // ---- listeners
  inet: row('inet', {
    aliases: ['i'],
    repeatable: true,
    form: '[HOST:]PORT',
    runtimes: LISTENER_RUNTIMES,
    group: 'listeners',
    help: 'policy protocol on TCP (a bare port binds 127.0.0.1)',
    doc: 'Policy protocol on TCP. A bare port binds 127.0.0.1, as Postgrey binds localhost. `[::1]:10023` for IPv6. Repeatable.',
    defaultText: '127.0.0.1:10023',
    read: list(address(parseInetAddress), null),
  }),
  unix: row('unix', {
    aliases: ['u'],
    repeatable: true,
    form: 'PATH',
    runtimes: LISTENER_RUNTIMES,
    group: 'listeners',
    help: 'policy protocol on a unix socket',
    doc: 'Policy protocol on a unix socket (e.g. under `/var/spool/postfix/private/` for a chrooted smtpd). Repeatable.',
    defaultText: '',
    read: list(
      address((raw, label) => {
        parseUnixAddress(raw, label);
        return raw;
      }),
      null,
    ),
  }),
  socketmode: row('socketmode', {
    form: 'MODE',
    runtimes: LISTENER_RUNTIMES,
    group: 'listeners',
    help: 'unix socket permissions',
    doc: 'Permissions of the unix socket.',
    defaultText: '0666',
    read: single(address(parseSocketMode), 0o666),
  }),
  exim: row('exim', {
    kind: 'flag',
    form: '',
    runtimes: LISTENER_RUNTIMES,
    group: 'listeners',
    help: 'close the connection after each answer',
    doc: "Close the connection after each answer (Exim's `${readsocket…}`).",
    defaultText: 'off',
    read: onOff(),
  }),
  'listen-queue-size': row('listen-queue-size', {
    form: 'N',
    runtimes: ['serve'],
    group: 'listeners',
    help: 'socket backlog, at most 999',
    doc: "Socket backlog, at most 999 (Postgrey's cap).",
    defaultText: '511',
    read: integer(511, 1, 999, 'a whole number 1-999'),
  }),
  'max-connections': row('max-connections', {
    form: 'N',
    runtimes: LISTENER_RUNTIMES,
    group: 'listeners',
    help: 'concurrent policy connections',
    doc: 'Concurrent policy connections, half of them at most from one address. At the limit a new connection replaces the one idle longest; it is refused only when all are busy (`docs/postfix.md`, "Limits").',
    defaultText: '1000',
    read: integer(1000, 1, 100_000, 'a whole number 1-100000'),
  }),
  http: row('http', {
    form: '[HOST:]PORT',
    runtimes: ['serve'],
    group: 'listeners',
    help: 'HTTP API',
    doc: 'The HTTP API (`docs/http-api.md`).',
    defaultText: '127.0.0.1:8080',
    read: single(address(parseHttpListen), { host: '127.0.0.1', port: 8080 }),
  }),
  'no-http': row('no-http', {
    kind: 'flag',
    form: '',
    runtimes: ['serve'],
    group: 'listeners',
    help: 'no HTTP API',
    doc: 'No HTTP listener.',
    defaultText: '',
    read: onOff(),
  }),
  'token-sha256': row('token-sha256', {
    repeatable: true,
    form: 'HEX',
    cdk: { key: 'greygate:tokenSha256', prop: 'tokenSha256', shape: 'list' },
    runtimes: ['serve', 'lambda', 'cdk'],
    group: 'listeners',
    help: 'accepted API token hash (repeatable; required for a non-loopback --http)',
    doc: 'SHA-256 of an accepted bearer token (`greygate token` makes one). Repeatable for rotation. Required before `--http` may bind a non-loopback address.',
    docFor: {
      lambda: 'SHA-256 digests of the accepted bearer tokens (`greygate token` makes one), comma-separated; several allow rotation. Required: the Lambda answers no request without a token.',
      cdk: 'SHA-256 digests of the accepted bearer tokens (`greygate token` makes one), comma-separated or a JSON list; several allow rotation.',
    },
    defaultText: 'none',
    defaultTextFor: { lambda: 'required', cdk: 'none (every request is refused; synth warns)' },
    read: list(parseTokenSha256, Object.freeze<string[]>([])),
  }),
  'admin-token-sha256': row('admin-token-sha256', {
    repeatable: true,
    form: 'HEX',
    cdk: { key: 'greygate:adminTokenSha256', prop: 'adminTokenSha256', shape: 'list' },
    runtimes: ['serve', 'lambda', 'cdk'],
    group: 'listeners',
    help: 'accepted admin token hash (repeatable): turns on /v1/explain, /v1/allow, /v1/pending, /v1/release',
    doc: 'SHA-256 of an accepted admin token (`greygate token` makes one). Repeatable for rotation. Turns the admin routes on (`/v1/explain`, `/v1/allow`, `/v1/pending`, `/v1/release`, docs/admin.md); without it they answer 404. A check token gets 403 there.',
    docFor: {
      lambda: 'SHA-256 digests of the accepted admin tokens, comma-separated; several allow rotation. Without it the admin routes answer 404.',
      cdk: 'SHA-256 digests of the accepted admin tokens, comma-separated or a JSON list. Without it the admin routes answer 404.',
    },
    defaultText: 'none (admin routes off)',
    read: list(parseTokenSha256, Object.freeze<string[]>([])),
  }),

  // ---- greylisting: Postgrey's options
  delay: row('delay', {
    form: 'N',
    cdk: { key: 'greygate:delay', prop: 'delaySeconds', shape: 'int' },
    runtimes: [...POLICY_RUNTIMES, 'import-postgrey', 'report'],
    group: 'greylisting',
    help: 'seconds a new triplet must wait',
    doc: 'Seconds a new triplet is greylisted.',
    defaultText: String(DEFAULT_POLICY_CONFIG.delaySeconds),
    read: integer(DEFAULT_POLICY_CONFIG.delaySeconds, 0, 30 * 86_400, 'seconds, e.g. 300'),
  }),
  'max-age': row('max-age', {
    form: 'N',
    cdk: { key: 'greygate:maxAge', prop: 'maxAgeDays', shape: 'int' },
    runtimes: [...POLICY_RUNTIMES, 'import-postgrey'],
    group: 'greylisting',
    help: 'days a passed triplet or auto-whitelisted client is kept',
    doc: 'Days a passed triplet, or an auto-whitelisted client, is remembered after it was last seen. Enforced at lookup.',
    defaultText: String(DEFAULT_POLICY_CONFIG.maxAgeDays),
    read: integer(DEFAULT_POLICY_CONFIG.maxAgeDays, 1, 3650, 'days, e.g. 35'),
  }),
  'retry-window': row('retry-window', {
    form: 'N|Nh',
    cdk: { key: 'greygate:retryWindow', prop: 'retryWindowHours', shape: 'retry-window' },
    runtimes: [...POLICY_RUNTIMES, 'import-postgrey', 'report'],
    group: 'greylisting',
    help: 'time allowed for the first successful retry, days or hours',
    doc: 'Time a greylisted sender has for its first successful retry; `Nh` means hours.',
    defaultText: '2 days',
    read: single(parseRetryWindow, DEFAULT_POLICY_CONFIG.retryWindowSeconds),
  }),
  'greylist-action': row('greylist-action', {
    form: 'A',
    cdk: { key: 'greygate:greylistAction', prop: 'greylistAction', shape: 'text' },
    runtimes: POLICY_RUNTIMES,
    group: 'greylisting',
    help: 'action when greylisting',
    doc: 'The action word when greylisting (e.g. `451`).',
    defaultText: DEFAULT_POLICY_CONFIG.greylistAction,
    read: single((raw, label) => {
      if (!/^\S+$/.test(raw)) throw new UsageError(`${label}: "${raw}" is not valid; expected one word such as DEFER_IF_PERMIT or 451`);
      return raw;
    }, DEFAULT_POLICY_CONFIG.greylistAction),
  }),
  'greylist-text': row('greylist-text', {
    form: 'TXT',
    cdk: { key: 'greygate:greylistText', prop: 'greylistText', shape: 'text' },
    runtimes: POLICY_RUNTIMES,
    group: 'greylisting',
    help: 'reply text; %s = seconds left, %r = recipient domain',
    doc: 'Reply text. `%s` seconds left, `%r` recipient domain; every occurrence replaced. `4.2.0 ` is prefixed when Postfix sends `etrn_domain` (it always does) and the text does not start with a digit.',
    defaultText: DEFAULT_POLICY_CONFIG.greylistText,
    literalDefault: true,
    read: single(parseSingleLine, DEFAULT_POLICY_CONFIG.greylistText),
  }),
  'x-greylist-header': row('x-greylist-header', {
    form: 'TXT',
    cdk: { key: 'greygate:xGreylistHeader', prop: 'xGreylistHeader', shape: 'text' },
    runtimes: POLICY_RUNTIMES,
    group: 'greylisting',
    help: 'header added on first pass; %t delay, %v version, %h host, %d date',
    doc: 'Header prepended on a triplet\'s first pass, once per message. `%t` seconds delayed, `%v` version, `%h` host name, `%d` date.',
    defaultText: DEFAULT_POLICY_CONFIG.xGreylistHeader,
    literalDefault: true,
    read: single(parseSingleLine, DEFAULT_POLICY_CONFIG.xGreylistHeader),
  }),
  'lookup-by-subnet': row('lookup-by-subnet', {
    kind: 'flag',
    form: '',
    runtimes: ['serve', 'lambda'],
    group: 'greylisting',
    help: "key on the client's subnet",
    doc: "Key on the client's subnet.",
    defaultText: 'on',
    read: onOff(),
  }),
  'lookup-by-host': row('lookup-by-host', {
    kind: 'flag',
    form: '',
    cdk: { key: 'greygate:lookupByHost', prop: 'lookupByHost', shape: 'bool' },
    runtimes: POLICY_RUNTIMES,
    group: 'greylisting',
    help: 'key on the full client address',
    doc: 'Key on the full client address (`ip/32`, `ip/128`).',
    defaultText: 'off',
    read: onOff(),
  }),
  ipv4cidr: row('ipv4cidr', {
    form: 'N',
    cdk: { key: 'greygate:ipv4cidr', prop: 'ipv4Cidr', shape: 'int' },
    runtimes: POLICY_RUNTIMES,
    group: 'greylisting',
    help: 'IPv4 prefix for subnet keys',
    doc: 'IPv4 prefix of the subnet key.',
    defaultText: String(DEFAULT_POLICY_CONFIG.ipv4Cidr),
    read: integer(DEFAULT_POLICY_CONFIG.ipv4Cidr, 1, 32, 'a prefix length 1-32'),
  }),
  ipv6cidr: row('ipv6cidr', {
    form: 'N',
    cdk: { key: 'greygate:ipv6cidr', prop: 'ipv6Cidr', shape: 'int' },
    runtimes: POLICY_RUNTIMES,
    group: 'greylisting',
    help: 'IPv6 prefix for subnet keys',
    doc: 'IPv6 prefix of the subnet key.',
    defaultText: String(DEFAULT_POLICY_CONFIG.ipv6Cidr),
    read: integer(DEFAULT_POLICY_CONFIG.ipv6Cidr, 1, 128, 'a prefix length 1-128'),
  }),
  preset: row('preset', {
    form: PRESET_NAMES.join('|'),
    cdk: { key: 'greygate:preset', prop: 'preset', shape: 'text' },
    runtimes: POLICY_RUNTIMES,
    group: 'greylisting',
    help: 'recommended: organisation identity and whitelisting, selective on\nnames and HELO (see --print-config); none: Postgrey\'s defaults',
    doc:
      '`recommended`: ' +
      Object.entries(PRESETS.recommended).map(([name, values]) => `\`--${name} ${values.join(',')}\``).join(', ') +
      ' — the advice for new installations (docs/client-identity.md). Any option given as a flag or variable overrides the preset. `none`: Postgrey\'s defaults.',
    defaultText: 'none',
    read: choice(PRESET_NAMES, 'none', PRESET_NAMES.join(' or ')),
  }),
  'print-config': row('print-config', {
    kind: 'flag',
    env: null,
    form: '',
    runtimes: ['serve'],
    group: 'meta',
    help: 'print the effective configuration, as environment lines, and exit',
    doc: '',
    defaultText: '',
    read: (given) => given !== undefined,
  }),
  'client-identity': row('client-identity', {
    form: 'net|org',
    cdk: { key: 'greygate:clientIdentity', prop: 'clientIdentity', shape: 'text' },
    runtimes: POLICY_RUNTIMES,
    group: 'greylisting',
    help: 'net: key the client by its subnet (Postgrey); org: by the organisation\nof its verified host name when that is a stable server name',
    doc:
      '`net`: the client part of the triplet key is its subnet, as Postgrey. `org`: the organisation of the ' +
      'verified host name (`mail-yw1-f169.google.com` → `google.com`) when that is a stable server name, so a ' +
      'retry from another address of the same sender passes; generic and dynamic names keep the subnet ' +
      '(docs/client-identity.md).',
    defaultText: DEFAULT_POLICY_CONFIG.clientIdentity,
    read: choice(['net', 'org'] as const, DEFAULT_POLICY_CONFIG.clientIdentity, 'net or org'),
  }),
  'auto-whitelist-orgs': row('auto-whitelist-orgs', {
    form: 'N',
    cdk: { key: 'greygate:autoWhitelistOrgs', prop: 'autoWhitelistOrgs', shape: 'int' },
    runtimes: POLICY_RUNTIMES,
    group: 'greylisting',
    help: 'whitelist an organisation after N passed triplets of its stable-named\nhosts (0 disables)',
    doc:
      'Whitelist an organisation (of stable verified host names, docs/client-identity.md) after N of its triplets ' +
      'passed after a retry, at most one counted per hour; until it is quiet for max-age its hosts pass at once ' +
      '(`org-awl`). Its hosts are then counted per organisation instead of per address. 0 disables.',
    defaultText: String(DEFAULT_POLICY_CONFIG.autoWhitelistOrgs),
    read: integer(DEFAULT_POLICY_CONFIG.autoWhitelistOrgs, 0, 1_000_000, 'a whole number N >= 0 (0 disables)'),
  }),
  'report-only': row('report-only', {
    kind: 'flag',
    form: '',
    cdk: { key: 'greygate:reportOnly', prop: 'reportOnly', shape: 'bool' },
    runtimes: POLICY_RUNTIMES,
    group: 'greylisting',
    help: 'decide and store as usual, log what would be answered, answer DUNNO',
    doc:
      'Report-only: decide and store as usual, log each decision with `report_only=yes`, and answer `DUNNO` ' +
      '(no X-Greylist header). Run it beside the greylister you replace, then switch with a database that ' +
      'already knows your correspondents (docs/migration-from-postgrey.md).',
    defaultText: 'off',
    read: onOff(),
  }),
  'auto-whitelist-clients': row('auto-whitelist-clients', {
    kind: 'optional-value',
    form: '[=N]',
    cdk: { key: 'greygate:autoWhitelistClients', prop: 'autoWhitelistClients', shape: 'int' },
    runtimes: POLICY_RUNTIMES,
    group: 'greylisting',
    help: 'whitelist a client after N passed triplets (0 disables)',
    doc: 'Whitelist a client (its exact IP) after N triplets passed, at most one counted per hour; 0 disables. Alone it means 5.',
    docFor: {
      lambda: 'Whitelist a client (its exact IP) after N triplets passed, at most one counted per hour; 0 disables.',
      cdk: 'Whitelist a client (its exact IP) after N triplets passed, at most one counted per hour; 0 disables.',
    },
    defaultText: String(DEFAULT_POLICY_CONFIG.autoWhitelistClients),
    read: single(
      (raw, label) => (raw === '' ? 5 : parseInteger(raw, label, 0, 1_000_000, 'a whole number N >= 0 (0 disables)')),
      DEFAULT_POLICY_CONFIG.autoWhitelistClients,
    ),
  }),
  'whitelist-clients': row('whitelist-clients', {
    repeatable: true,
    form: 'FILE',
    runtimes: ['serve', 'lambda'],
    group: 'greylisting',
    help: 'client whitelist (repeatable; replaces the default list)',
    doc: "Client whitelist files, Postgrey's format (`docs/whitelists.md`). Repeatable; giving it replaces the default list. A missing `.local` file is silently skipped.",
    docFor: { lambda: 'Client whitelist files, comma-separated (for example in a Lambda layer, under `/opt`), that replace the built-in list.' },
    defaultText: "greygate's own `whitelists/clients` + `/etc/greygate/whitelist_clients.local`",
    defaultTextFor: { lambda: 'the built-in list' },
    read: list(text, null),
  }),
  'whitelist-recipients': row('whitelist-recipients', {
    repeatable: true,
    form: 'FILE',
    runtimes: ['serve', 'lambda'],
    group: 'greylisting',
    help: 'recipient whitelist (repeatable; replaces the default list)',
    doc: 'Recipient whitelist files. Same rules.',
    docFor: { lambda: 'Recipient whitelist files, comma-separated, that replace the built-in list.' },
    defaultText: "greygate's own `whitelists/recipients` + `/etc/greygate/whitelist_recipients.local`",
    defaultTextFor: { lambda: 'the built-in list' },
    read: list(text, null),
  }),
  privacy: row('privacy', {
    kind: 'flag',
    form: '',
    cdk: { key: 'greygate:privacy', prop: 'privacy', shape: 'bool' },
    runtimes: ['serve', 'lambda', 'cdk', 'import-postgrey'],
    group: 'greylisting',
    help: 'store keyed hashes (HMAC-SHA-256) instead of addresses',
    doc: 'Store HMAC-SHA-256 keys instead of addresses; the secret is created in `<dbdir>/privacy.key` (or `GREYGATE_PRIVACY_KEY`).',
    docFor: {
      'import-postgrey': 'Give it when serve runs with `--privacy`: the imported keys are stored hashed under the same secret (`<dbdir>/privacy.key`, or `--privacy-key`, required with `--store dynamodb`).',
      lambda: 'Triplets and client addresses are stored as HMAC-SHA-256 under `GREYGATE_PRIVACY_KEY` (logs still show clear addresses, as Postgrey\'s do). On unless this is `false`: the table lives in someone else\'s data centre, and backups outlive the function.',
      cdk: 'Store HMAC-SHA-256 keys instead of addresses; the stack generates the key (see below). On unless `false`.',
    },
    defaultText: 'off',
    defaultTextFor: { lambda: 'on', cdk: 'true' },
    read: onOff((context) => context.runtime === 'lambda' || context.runtime === 'cdk'),
  }),
  'privacy-key': row('privacy-key', {
    flag: false,
    form: 'HEX',
    runtimes: ['serve', 'lambda', 'import-postgrey'],
    group: 'greylisting',
    help: 'the HMAC key of --privacy, hex',
    doc: 'The HMAC key of `--privacy`, hex, at least 32 digits (`openssl rand -hex 32`); required on the Lambda while privacy is on (the CDK stack generates it). `greygate serve` keeps its own in `<dbdir>/privacy.key` unless this is set. Changing it greylists every sender once more.',
    defaultText: '`<dbdir>/privacy.key`',
    defaultTextFor: { lambda: 'required while privacy is on' },
    read: single(parsePrivacyKey, null),
  }),
  hostname: row('hostname', {
    form: 'NAME',
    cdk: { key: 'greygate:hostname', prop: 'hostname', shape: 'text' },
    runtimes: POLICY_RUNTIMES,
    group: 'greylisting',
    help: 'value of %h',
    doc: '`%h` of the header.',
    defaultText: "this host's name",
    defaultTextFor: { lambda: "the function's name", cdk: "the function's name" },
    read: (given, context) => (given === undefined ? defaultHostname(context) : parseSingleLine(lastValue(given), given.label)),
  }),

  // ---- selective greylisting
  selective: row('selective', {
    form: 'off|s25r|score',
    cdk: { key: 'greygate:selective', prop: 'selective', shape: 'text' },
    runtimes: SELECTIVE_RUNTIMES,
    group: 'selective',
    help: 'off: greylist every client (Postgrey); s25r: only clients whose\nreverse DNS looks dynamic (S25R); score: S25R and DNS lists add up',
    doc: '`s25r`: greylist only clients whose reverse DNS looks dynamic; `score`: S25R and DNS lists add up.',
    defaultText: 'off',
    read: choice(['off', 's25r', 'score'] as const, DEFAULT_SELECTIVE_SETTINGS.mode, 'off, s25r or score'),
  }),
  's25r-ipv6': row('s25r-ipv6', {
    form: 'apply|skip',
    cdk: { key: 'greygate:s25rIpv6', prop: 's25rIpv6', shape: 'text' },
    runtimes: SELECTIVE_RUNTIMES,
    group: 'selective',
    help: 'judge IPv6 clients by the S25R rules too, or never',
    doc: 'Judge IPv6 clients by the S25R rules too, or never.',
    defaultText: 'apply',
    read: choice(['apply', 'skip'] as const, DEFAULT_SELECTIVE_SETTINGS.s25rIpv6, 'apply or skip'),
  }),
  'greylist-score': row('greylist-score', {
    form: 'N',
    cdk: { key: 'greygate:greylistScore', prop: 'greylistScore', shape: 'int' },
    runtimes: SELECTIVE_RUNTIMES,
    group: 'selective',
    help: 'score mode: greylist from this score on',
    doc: 'Score mode: greylist from this score on.',
    defaultText: String(DEFAULT_SELECTIVE_SETTINGS.greylistScore),
    read: integer(DEFAULT_SELECTIVE_SETTINGS.greylistScore, 0, MAX_DNS_LIST_WEIGHT, weightForm),
  }),
  's25r-weight': row('s25r-weight', {
    form: 'N',
    cdk: { key: 'greygate:s25rWeight', prop: 's25rWeight', shape: 'int' },
    runtimes: SELECTIVE_RUNTIMES,
    group: 'selective',
    help: 'score mode: what an S25R match adds',
    doc: 'Score mode: what an S25R match adds.',
    defaultText: String(DEFAULT_SELECTIVE_SETTINGS.s25rWeight),
    read: integer(DEFAULT_SELECTIVE_SETTINGS.s25rWeight, 0, MAX_DNS_LIST_WEIGHT, weightForm),
  }),
  'signal-weight': row('signal-weight', {
    repeatable: true,
    form: 'NAME=W',
    cdk: { key: 'greygate:signalWeight', prop: 'signalWeight', shape: 'text' },
    runtimes: SELECTIVE_RUNTIMES,
    group: 'selective',
    help: `score mode: what a client signal adds (${CLIENT_SIGNAL_NAMES.join(', ')}; default 0; repeatable)`,
    doc: `Score mode: what a client signal adds: ${CLIENT_SIGNAL_NAMES.map((n) => `\`${n}\``).join(', ')} (docs/selective-greylisting.md). Default 0 each: shown in \`signals\`, not counted. Repeatable.`,
    docFor: {
      lambda: `Score mode: client signal weights, comma-separated \`NAME=W\`: ${CLIENT_SIGNAL_NAMES.map((n) => `\`${n}\``).join(', ')}. Default 0 each.`,
      cdk: `Score mode: client signal weights, comma-separated \`NAME=W\`: ${CLIENT_SIGNAL_NAMES.map((n) => `\`${n}\``).join(', ')}. Default 0 each.`,
    },
    defaultText: 'all 0',
    read: list(parseSignalWeight, Object.freeze([])),
  }),
  dnsbl: dnsListRow('dnsbl', 'block', `adds W (default ${DEFAULT_DNSBL_WEIGHT})`, DEFAULT_DNSBL_WEIGHT),
  dnswl: dnsListRow('dnswl', 'allow', `subtracts W (default ${DEFAULT_DNSWL_WEIGHT})`, DEFAULT_DNSWL_WEIGHT),
  'dns-timeout-ms': row('dns-timeout-ms', {
    form: 'N',
    cdk: { key: 'greygate:dnsTimeoutMs', prop: 'dnsTimeoutMs', shape: 'int' },
    runtimes: SELECTIVE_RUNTIMES,
    group: 'selective',
    help: 'score mode: the DNS lists answer within this or count as nothing',
    doc: 'All DNS list lookups of one decision finish within this, or count as nothing.',
    defaultText: '1000',
    read: integer(1000, 10, 30_000, 'milliseconds 10-30000, e.g. 1000'),
  }),
  'dns-servers': row('dns-servers', {
    repeatable: true,
    form: 'IP[:PORT]',
    runtimes: ['serve', 'lambda'],
    group: 'selective',
    help: 'score mode: resolvers to ask (repeatable)',
    doc: 'Resolvers to ask: `IP`, `IP:PORT` or `[IPv6]:PORT`. Repeatable.',
    docFor: { lambda: 'Resolvers to ask: `IP`, `IP:PORT` or `[IPv6]:PORT`, comma-separated.' },
    defaultText: '`/etc/resolv.conf`',
    read: (given) => {
      if (given === undefined) return null;
      const servers = given.values.flatMap((v) => v.split(',')).filter((v) => v.trim() !== '');
      if (servers.length === 0) throw new UsageError(`${given.label}: expected at least one resolver address, e.g. 127.0.0.1:53`);
      return Object.freeze(servers.map((v) => parseDnsServer(v, given.label)));
    },
  }),

  // ---- storage and logs
  store: row('store', {
    form: 'sqlite|dynamodb',
    runtimes: ['serve', 'import-postgrey', 'report'],
    group: 'storage',
    help: 'where greylist state lives',
    doc: 'Where greylist state lives.',
    defaultText: 'sqlite',
    read: choice(['sqlite', 'dynamodb'] as const, 'sqlite', 'sqlite or dynamodb'),
  }),
  dbdir: row('dbdir', {
    form: 'DIR',
    runtimes: ['serve', 'import-postgrey', 'report'],
    group: 'storage',
    help: 'database directory',
    doc: 'SQLite database directory (created 0700; the file is 0600).',
    defaultText: '`./data`',
    read: single(text, './data'),
  }),
  'sqlite-sync': row('sqlite-sync', {
    form: 'normal|full',
    runtimes: ['serve'],
    group: 'storage',
    help: 'normal keeps every answered decision through a process crash;\nfull also through a power loss, at an fsync per commit',
    doc: '`normal` keeps every answered decision through a process crash (`kill -9`); `full` also through a power loss, at one fsync per commit.',
    defaultText: 'normal',
    read: choice(['normal', 'full'] as const, 'normal', 'full or normal'),
  }),
  'stats-retention-days': row('stats-retention-days', {
    form: 'N',
    cdk: { key: 'greygate:statsRetentionDays', prop: 'statsRetentionDays', shape: 'int' },
    runtimes: ['serve', 'lambda', 'cdk'],
    group: 'storage',
    help: 'days the hourly statistics are kept in the store (0: none counted)',
    doc: 'Days the hourly statistics (decisions by verdict and reason, delays, never-retried triplets; no addresses) are kept in the store, for `/metrics`, `greygate report` and the status page (docs/metrics.md). `0` counts none.',
    // Over a year, so that a report can compare a month with the same month a year before.
    defaultText: '400',
    read: integer(400, 0, 100_000, 'a whole number of days'),
  }),
  'stats-flush-seconds': row('stats-flush-seconds', {
    form: 'N',
    cdk: { key: 'greygate:statsFlushSeconds', prop: 'statsFlushSeconds', shape: 'int' },
    runtimes: ['serve', 'lambda', 'cdk'],
    group: 'storage',
    help: 'seconds between two writes of the statistics to the store',
    doc: 'Seconds between two writes of the statistics to the store (one write per hour bucket, whatever the traffic); a crash loses at most this much counting, never a decision.',
    defaultText: '60',
    read: integer(60, 1, 3600, 'a whole number of seconds 1-3600'),
  }),
  table: row('table', {
    form: 'NAME',
    runtimes: ['serve', 'lambda', 'create-table', 'import-postgrey', 'report'],
    group: 'storage',
    help: 'the DynamoDB table (serve: with --store dynamodb)',
    doc: 'DynamoDB table (with `--store dynamodb`); create it with `greygate create-table --table NAME`.',
    docFor: { lambda: 'The DynamoDB table that holds the greylist (the CDK stack sets it).' },
    defaultText: 'none',
    defaultTextFor: { lambda: 'required' },
    read: single((raw) => raw.trim(), null),
  }),
  'dynamodb-endpoint': row('dynamodb-endpoint', {
    form: 'URL',
    runtimes: ['serve', 'lambda', 'create-table', 'import-postgrey', 'report'],
    group: 'storage',
    help: 'a DynamoDB-API endpoint such as dynalite',
    doc: "A DynamoDB-API endpoint such as dynalite (the SDK's `AWS_ENDPOINT_URL_DYNAMODB` works too).",
    defaultText: 'AWS',
    read: single(text, null),
  }),
  'log-format': row('log-format', {
    form: 'text|json',
    runtimes: ['serve', 'bridge'],
    group: 'storage',
    help: 'Postgrey-style lines or JSON lines, on stderr',
    doc: "Postgrey's log lines on stderr, or one JSON object per line.",
    defaultText: 'text',
    read: choice(['text', 'json'] as const, 'text', 'text or json'),
  }),
  verbose: row('verbose', {
    kind: 'flag',
    aliases: ['v'],
    form: '',
    runtimes: LOG_RUNTIMES,
    group: 'storage',
    help: 'more logging',
    doc: 'More logging (debug lines).',
    defaultText: 'off',
    read: onOff(),
  }),
  quiet: row('quiet', {
    kind: 'flag',
    aliases: ['q'],
    form: '',
    runtimes: LOG_RUNTIMES,
    group: 'storage',
    help: 'no per-request lines',
    doc: 'No per-request lines: warnings and errors only.',
    defaultText: 'off',
    read: onOff(),
  }),
  'metrics-namespace': row('metrics-namespace', {
    flag: false,
    form: 'NAME',
    cdk: { key: 'greygate:metricsNamespace', prop: 'metricsNamespace', shape: 'text' },
    runtimes: ['lambda', 'cdk'],
    group: 'lambda',
    help: '',
    doc: "CloudWatch namespace of the function's metrics; give each stack in one account and region its own.",
    defaultText: DEFAULT_METRICS_NAMESPACE,
    read: single(parseMetricsNamespace, DEFAULT_METRICS_NAMESPACE),
  }),

  // ---- the bridge
  api: row('api', {
    form: 'URL',
    runtimes: ['bridge'],
    group: 'bridge',
    help: "the API's base URL: https://HOST[/PATH]; http:// only for a loopback\nhost (a `greygate serve --http` on this machine)",
    doc: "the API's base URL (the `ApiUrl` output of the deploy); the bridge POSTs to `<URL>/v1/check`. `https://` always; `http://` only for a loopback host (`127.0.0.1`, `::1`, `localhost`: a `greygate serve --http` on the same machine)",
    defaultText: 'required',
    read: single((raw, label) => ({ base: raw, checkUrl: parseApiUrl(raw, label) }), null),
  }),
  'token-file': row('token-file', {
    form: 'FILE',
    runtimes: ['bridge'],
    group: 'bridge',
    help: 'the API token (from `greygate token`); re-read on SIGHUP',
    doc: 'the API token; a trailing newline is ignored. Re-read on SIGHUP',
    defaultText: 'none',
    read: single(text, null),
  }),
  token: row('token', {
    flag: false,
    form: 'TOKEN',
    runtimes: ['bridge'],
    group: 'bridge',
    help: 'the API token itself, when --token-file cannot be used',
    doc: 'the token itself, when a file is not an option (a file is better: it can be rotated with SIGHUP and does not show in `/proc/PID/environ`)',
    defaultText: 'none',
    // Only whether it is there: bridge/bridge-token.ts reads the value, so no config object holds it.
    read: (given) => given !== undefined,
  }),
  'timeout-ms': row('timeout-ms', {
    form: 'N',
    runtimes: ['bridge'],
    group: 'bridge',
    help: "time budget per request, retry included;\nkeep it well under Postfix's policy timeout",
    doc: 'time budget of one request, a retry included; 10–60000',
    defaultText: String(DEFAULT_BRIDGE_TIMEOUT_MS),
    read: integer(DEFAULT_BRIDGE_TIMEOUT_MS, 10, 60_000, 'milliseconds 10-60000, e.g. 3000'),
  }),
  'on-error': row('on-error', {
    form: 'dunno|defer',
    runtimes: ['bridge'],
    group: 'bridge',
    help: 'answer when the API fails: dunno (fail open) or defer',
    doc: 'the answer when the API fails (below)',
    defaultText: 'dunno',
    read: choice(['dunno', 'defer'] as const, 'dunno', 'dunno (accept mail while the API fails) or defer'),
  }),
  'defer-action': row('defer-action', {
    form: 'TEXT',
    runtimes: ['bridge'],
    group: 'bridge',
    help: 'what defer answers',
    doc: 'what `--on-error defer` answers',
    defaultText: DEFAULT_DEFER_ACTION,
    literalDefault: true,
    read: single((raw, label) => parseActionText(raw, label, DEFAULT_DEFER_ACTION), DEFAULT_DEFER_ACTION),
  }),
  'ca-file': row('ca-file', {
    form: 'FILE',
    runtimes: ['bridge'],
    group: 'bridge',
    help: "PEM CA certificate(s) trusted for the API, added to the roots\nbundled with Node.js (the system's CA store is not read)",
    doc: "PEM CA certificate(s) to trust for the API's TLS (a private CA, a TLS-inspecting proxy), added to the roots bundled with Node.js. The system's CA store (`/etc/ssl/certs`, `update-ca-certificates`) is not read: a CA installed there must be given here too",
    defaultText: '',
    read: single(text, null),
  }),

  // ---- the deployment (CDK only)
  'log-retention-days': row('log-retention-days', {
    flag: false,
    env: null,
    form: 'N',
    cdk: { key: 'greygate:logRetentionDays', prop: 'logRetentionDays', shape: 'int' },
    runtimes: ['cdk'],
    group: 'deployment',
    help: '',
    doc: "days of function logs; one of CloudWatch's values (1, 3, 5, 7, 14, 30, 60, 90, …)",
    // A month covers the usual "why was this mail delayed last week?" questions; logs cost by volume.
    defaultText: '30',
    read: integer(30, 1, 10_000, 'a whole number of days'),
  }),
  'stack-name': row('stack-name', {
    flag: false,
    env: null,
    form: 'NAME',
    cdk: { key: 'greygate:stackName', prop: 'stackName', shape: 'text' },
    runtimes: ['cdk'],
    group: 'deployment',
    help: '',
    doc: 'the CloudFormation stack the stand-alone app deploys; another name deploys a second, separate greygate',
    defaultText: '`Greygate`',
    read: single((raw, label) => {
      const value = raw.trim();
      // CloudFormation's rule for stack names.
      if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(value)) {
        throw new UsageError(`${label}: "${value}" is not a CloudFormation stack name (a letter, then letters, digits and hyphens, at most 128 characters)`);
      }
      return value;
    }, DEFAULT_STACK_NAME),
  }),
  'alarm-email': row('alarm-email', {
    flag: false,
    env: null,
    form: 'ADDRESS',
    cdk: { key: 'greygate:alarmEmail', prop: 'alarmEmail', shape: 'text' },
    runtimes: ['cdk'],
    group: 'deployment',
    help: '',
    doc: 'an address subscribed to the alarm topic (confirm the e-mail AWS sends)',
    defaultText: 'none',
    read: single((raw, label) => {
      const value = raw.trim();
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) throw new UsageError(`${label}: "${value}" is not an e-mail address`);
      return value;
    }, null),
  }),

  // ---- Postgrey's process management: systemd does these jobs now
  daemonize: postgreyOnly('daemonize', 'flag', 'run greygate under systemd (see docs/postfix.md) instead of --daemonize', ['d']),
  pidfile: postgreyOnly('pidfile', 'value', 'systemd tracks the process; --pidfile is not needed'),
  user: postgreyOnly('user', 'value', 'let systemd pick the user (User= or DynamicUser=) instead of --user'),
  group: postgreyOnly('group', 'value', 'let systemd pick the group (Group=) instead of --group'),
  'syslog-facility': postgreyOnly(
    'syslog-facility',
    'value',
    'greygate logs to stderr; journald or your syslog daemon sets the facility',
    ['syslogfacility', 'facility'],
  ),

  // ---- import-postgrey
  from: row('from', {
    form: 'DIR',
    runtimes: ['import-postgrey'],
    group: 'storage',
    help: "Postgrey's database directory (postgrey.db, postgrey_clients.db)",
    doc: "Postgrey's database directory, read with `db_dump` (Debian package db-util) and left untouched.",
    defaultText: '`/var/lib/postgrey`',
    read: single(text, '/var/lib/postgrey'),
  }),
  'dry-run': row('dry-run', {
    kind: 'flag',
    form: '',
    runtimes: ['import-postgrey'],
    group: 'storage',
    help: 'print what would be imported; write nothing',
    doc: 'Prints what would be imported and writes nothing.',
    defaultText: 'off',
    read: onOff(),
  }),

  // ---- report
  since: row('since', {
    form: 'Nd|Nh',
    runtimes: ['report'],
    group: 'meta',
    help: 'the period reported, ending now: 7d, 30d, 24h',
    doc: 'The period reported, ending now, in whole days or hours (`7d`, `30d`, `24h`).',
    defaultText: '7d',
    read: single((raw, label) => {
      const m = /^(\d{1,5})([dh])$/.exec(raw.trim());
      const n = m ? Number(m[1]) : 0;
      if (!m || n === 0) throw new UsageError(`${label}: "${raw}" is not valid; expected a number of days or hours such as 7d or 24h`);
      return n * (m[2] === 'd' ? 86_400 : 3_600);
    }, 7 * 86_400),
  }),
  format: row('format', {
    form: 'text|json|csv',
    runtimes: ['report'],
    group: 'meta',
    help: 'text for people, json or csv (one row per day) for programs',
    doc: 'Text for people; JSON, or CSV with one row per day, for programs.',
    defaultText: 'text',
    read: choice(['text', 'json', 'csv'] as const, 'text', 'text, json or csv'),
  }),

  // ---- every command
  help: row('help', {
    kind: 'flag',
    env: null,
    aliases: ['h'],
    form: '',
    runtimes: ['serve', 'bridge', 'create-table', 'import-postgrey', 'report'],
    group: 'meta',
    help: 'this text',
    doc: '',
    defaultText: '',
    read: (given) => given !== undefined,
  }),
  version: row('version', {
    kind: 'flag',
    env: null,
    form: '',
    runtimes: ['serve'],
    group: 'meta',
    help: 'print the version',
    doc: '',
    defaultText: '',
    read: (given) => given !== undefined,
  }),
} as const;

export type Options = typeof OPTIONS;
export type OptionName = keyof Options;
export type OptionValue<N extends OptionName> = ReturnType<Options[N]['read']>;

export const OPTION_ROWS: readonly OptionRow[] = Object.freeze(Object.values(OPTIONS));

