// The accepted forms of option values, each a function from the text an admin wrote to a typed
// value, or a UsageError that names where the text came from (`label`: a flag, a variable or a CDK
// context key) and what would have been accepted.

import { isIP } from 'node:net';
import { parseInetAddress } from '../../policy/listen-address.ts';
import { CLIENT_SIGNAL_NAMES, type ClientSignalName } from '../selective/selective.ts';
import type { DnsListKind, DnsListZone } from '../selective/selective.ts';
import { UsageError } from './usage-error.ts';

export function parseInteger(raw: string, label: string, min: number, max: number, form: string): number {
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`${label}: "${raw}" is not valid; expected ${form}`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new UsageError(`${label}: ${n} is out of range; expected ${form}`);
  return n;
}

export function parseChoice<C extends string>(raw: string, label: string, choices: readonly C[], form: string): C {
  const found = choices.find((c) => c === raw);
  if (found === undefined) throw new UsageError(`${label}: "${raw}" is not valid; expected ${form}`);
  return found;
}

/** On/off values in the environment and CDK context; a flag on the command line needs none. */
export function parseBoolean(raw: string, label: string): boolean {
  if (raw === '' || /^(1|true|yes|on)$/i.test(raw.trim())) return true;
  if (/^(0|false|no|off)$/i.test(raw.trim())) return false;
  throw new UsageError(`${label}: expected true or false, got "${raw}"`);
}

/** Postgrey's `--retry-window=N` (days) or `Nh` (hours), in seconds. */
export function parseRetryWindow(raw: string, label: string): number {
  const m = /^(\d+)([hd]?)$/.exec(raw.trim());
  if (!m) throw new UsageError(`${label}: "${raw}" is not valid; expected N (days) or Nh (hours), e.g. 2 or 12h`);
  const n = Number(m[1]);
  const seconds = m[2] === 'h' ? n * 3600 : n * 86_400;
  if (seconds <= 0) throw new UsageError(`${label}: the retry window must be longer than zero`);
  return seconds;
}

/** Text that ends up in a Postfix reply or a mail header: one line, or the protocol breaks. */
export function parseSingleLine(raw: string, label: string): string {
  if (/[\r\n]/.test(raw)) throw new UsageError(`${label}: the text must be a single line`);
  return raw;
}

export function parseTokenSha256(raw: string, label: string): string {
  const hash = raw.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hash)) {
    throw new UsageError(`${label}: "${raw.trim()}" is not a SHA-256 hex digest (64 hex digits); create one with \`greygate token\``);
  }
  return hash;
}

export interface HttpListen {
  host: string;
  port: number;
}

export function parseHttpListen(raw: string, label: string): HttpListen {
  const address = parseInetAddress(raw, label);
  if (address.kind !== 'inet') throw new UsageError(`${label}: expected [HOST:]PORT, e.g. 127.0.0.1:8080`);
  return { host: address.host, port: address.port };
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

export const MAX_DNS_LIST_WEIGHT = 1000;
/** A DNS-list query name is the zone plus up to 64 characters (IPv6 nibbles); DNS allows 253. */
const MAX_ZONE_LENGTH = 180;

/** `zone[=weight]` of --dnsbl / --dnswl. */
export function parseDnsListZone(raw: string, kind: DnsListKind, label: string, defaultWeight: number): DnsListZone {
  const m = /^([a-z0-9_-]+(?:\.[a-z0-9_-]+)+)\.?(?:=(\d+))?$/i.exec(raw.trim());
  const zone = m?.[1]?.toLowerCase();
  if (!m || zone === undefined || zone.length > MAX_ZONE_LENGTH) {
    throw new UsageError(`${label}: "${raw}" is not valid; expected zone[=weight], e.g. zen.spamhaus.org=2 or list.dnswl.org`);
  }
  const weight =
    m[2] === undefined ? defaultWeight : parseInteger(m[2], label, 0, MAX_DNS_LIST_WEIGHT, `a whole number weight 0-${MAX_DNS_LIST_WEIGHT} after "="`);
  return { kind, zone, weight };
}

/** One `--signal-weight` entry: `NAME=W`, NAME one of the client signals. */
export function parseSignalWeight(raw: string, label: string): { name: ClientSignalName; weight: number } {
  const m = /^([a-z-]+)=(\d+)$/.exec(raw.trim());
  const name = CLIENT_SIGNAL_NAMES.find((n) => n === m?.[1]);
  if (!m || name === undefined) {
    throw new UsageError(`${label}: "${raw}" is not valid; expected NAME=W with NAME one of ${CLIENT_SIGNAL_NAMES.join(', ')}, e.g. helo-ip-literal=1`);
  }
  return { name, weight: parseInteger(m[2] ?? '', label, 0, MAX_DNS_LIST_WEIGHT, `a whole number weight 0-${MAX_DNS_LIST_WEIGHT} after "="`) };
}

/** One `--dns-servers` entry: `IP`, `IPv4:PORT` or `[IPv6]:PORT`, as node:dns setServers takes them. */
export function parseDnsServer(raw: string, label: string): string {
  const value = raw.trim();
  const bad = (): never => {
    throw new UsageError(`${label}: "${raw}" is not valid; expected an IP address, IP:PORT or [IPv6]:PORT, e.g. 127.0.0.1:53`);
  };
  if (isIP(value) !== 0) return value;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  if (!m) return bad();
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if ((m[1] !== undefined ? isIP(host) !== 6 : isIP(host) !== 4) || port < 1 || port > 65_535) return bad();
  return value;
}

const API_FORM = 'https://HOST[:PORT][/PATH], or http://127.0.0.1:PORT for an API on this host';

/** The bridge's `--api`, as the URL of its check route. Loopback only for plain http: the token and every sender address would cross the network in clear. */
export function parseApiUrl(raw: string, label: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    // The value is not echoed: a mistyped URL may still carry a password.
    throw new UsageError(`${label}: not a URL; expected ${API_FORM}`, { cause: err });
  }
  if (url.username !== '' || url.password !== '') {
    throw new UsageError(`${label}: credentials in the URL are not accepted; put the token in --token-file and give the URL without them`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`${label}: "${url.protocol}" is not supported; expected ${API_FORM}`);
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new UsageError(`${label}: http:// is only allowed for a loopback host (127.0.0.1, ::1, localhost); use https:// for ${url.hostname}`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new UsageError(`${label}: expected the API's base URL without ?query or #fragment; ${API_FORM}`);
  }
  // The deploy output ends in `/` (`…on.aws/`); an API behind a path prefix keeps its prefix.
  const base = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  return new URL(`${base}v1/check`, url);
}

/** A Postfix action the bridge answers by itself: one line, bounded, not empty. */
export function parseActionText(raw: string, label: string, example: string): string {
  const MAX_ACTION_CHARS = 512;
  if (raw.trim() === '' || raw.length > MAX_ACTION_CHARS || /[\u0000-\u001f\u007f]/.test(raw)) {
    throw new UsageError(`${label}: expected a Postfix action of at most ${MAX_ACTION_CHARS} characters on one line, e.g. "${example}"`);
  }
  return raw;
}

export function parsePrivacyKey(raw: string, label: string): string {
  const key = raw.trim();
  if (!/^(?:[0-9a-fA-F]{2}){16,}$/.test(key)) {
    throw new UsageError(`${label} is not valid: expected an even number of hex digits, at least 32 (e.g. \`openssl rand -hex 32\`)`);
  }
  return key.toLowerCase();
}

/** CloudWatch's namespace rules; the AWS/ prefix is reserved for AWS services. */
export function parseMetricsNamespace(raw: string, label: string): string {
  const value = raw.trim();
  if (!/^[A-Za-z0-9.\-_/#:]{1,255}$/.test(value) || /^AWS\//i.test(value)) {
    throw new UsageError(
      `${label}: "${value}" is not a CloudWatch namespace; expected letters, digits and . - _ / # : (not starting with AWS/), e.g. Greygate/prod`,
    );
  }
  return value;
}
