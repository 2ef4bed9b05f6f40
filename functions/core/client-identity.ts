// The client part of the triplet key with `--client-identity=org`: the organisation of the
// client's verified host name when that name is a stable server name, so that a retry from another
// address of the same organisation (Gmail, Outlook, SES send each retry from another pool address,
// often in another /24) finds the triplet of the first attempt. Anything that is not clearly a
// server of one organisation keeps Postgrey's subnet key: a name generated from the address, a
// dynamic or residential pool name, a name that is itself a public suffix. Two infected home hosts
// of one ISP must never share a key. Which rule sends which name where: docs/client-identity.md.
//
// Pure: the Public Suffix List lookup is passed in (tldts's `parse` in the runtimes, loaded only
// when the organisation identity is on), so Postgrey-mode installs never load the list.

/** What the Public Suffix List says of a host name: the subset of tldts's `parse` result used here. */
export interface DomainParts {
  /** The registrable domain (`google.com`, `example.co.uk`); null when the name is a suffix or an IP. */
  domain: string | null;
  /** The public suffix (`com`, `co.uk`, `s3.amazonaws.com`). */
  publicSuffix: string | null;
  isIp: boolean | null;
  /** The suffix is in the list's ICANN section. */
  isIcann: boolean | null;
  /** The suffix is in the list's private section (`herokuapp.com`, `*.compute-1.amazonaws.com`). */
  isPrivate: boolean | null;
}

export type ParseDomain = (hostname: string) => DomainParts;

/** Why a name does not give an organisation: the request keeps its subnet key. */
export type NetReason =
  | 'unverified' // client_name is `unknown` or empty: FCrDNS failed
  | 'not-a-host-name' // an IP literal, a bare word, characters a host name cannot have
  | 'unlisted-suffix' // the top-level domain is in no section of the Public Suffix List (.local, .lan, typos)
  | 'public-suffix' // the name is itself a public suffix (`co.uk`, an EC2 host under `*.compute-1.amazonaws.com`)
  | 'address-in-name' // the client's address is spelt in the name: a name generated per address
  | 'dynamic-label'; // a label such as dsl, dyn, dhcp, ppp, cable, cpe, dial, broadband, pool

export type ClientIdentity = { kind: 'org'; org: string } | { kind: 'net'; why: NetReason };

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)+$/;

/**
 * Words of generic and dynamic naming schemes, matched against each alphabetic run of the labels
 * left of the registrable domain (`dsl-187-4.example.net` → `dsl`, `dynamic`, `example` is not
 * looked at). A prefix match where ISPs add to the word (`dynamic`, `dhcp4`, `pppoe`, `dialup`,
 * `adsl`); whole words where a prefix would catch server names (`res`, `nat`, `bb`).
 */
const DYNAMIC_PREFIXES = [
  'dyn', 'dhcp', 'ppp', 'dial', 'cable', 'cpe', 'broadband', 'unknown', 'pool', 'client', 'customer', 'residential',
  'dsl', 'adsl', 'vdsl', 'xdsl', 'sdsl', 'static', 'ftth', 'fttx', 'fttp', 'fibre', 'fiber', 'catv', 'modem',
  'wireless', 'wifi', 'mobile', 'home', 'user', 'subscriber', 'dip',
];
const DYNAMIC_WORDS = new Set(['res', 'nat', 'bb', 'cust', 'ras', 'lte', 'gprs', 'umts', 'hsd', 'sta']);

function hasDynamicWord(hostPart: string): boolean {
  for (const run of hostPart.match(/[a-z]+/g) ?? []) {
    if (DYNAMIC_WORDS.has(run)) return true;
    if (DYNAMIC_PREFIXES.some((prefix) => run.startsWith(prefix))) return true;
  }
  return false;
}

/** The address's bytes (IPv4) or 16-bit groups (IPv6) as numbers; null when it is neither. */
function addressParts(address: string): { family: 4 | 6; parts: number[] } | null {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (v4) return { family: 4, parts: v4.slice(1).map(Number) };
  if (!address.includes(':')) return null;
  const [head = '', tail] = address.toLowerCase().split('::');
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const fill = tail === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  const parts = [...left, ...fill, ...right];
  return parts.length === 8 && parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 0xffff) ? { family: 6, parts } : null;
}

/**
 * The address spelt in the host part: three of an IPv4 address's four bytes as decimal or
 * two-digit hex numbers (`187-123-45-67`, `67.45.123.187`, `bb7b2d43`), in any order, or the whole
 * address as one hex run in either byte order; three of an IPv6 address's non-zero groups. Two bytes
 * are not enough: pool names number hosts by their last bytes (`a8-12.smtp-out.amazonses.com` is
 * 54.240.8.12), and so does Gmail's `mail-yw1-f169`.
 */
function spellsAddress(hostPart: string, address: string): boolean {
  const parsed = addressParts(address);
  if (parsed === null) return false;
  const numbers = new Set((hostPart.match(/\d+/g) ?? []).map(Number));
  const hexRuns = hostPart.match(/[0-9a-f]+/g) ?? [];
  const hexNumbers = new Set(hexRuns.filter((run) => run.length <= 4).map((run) => Number.parseInt(run, 16)));
  if (parsed.family === 4) {
    const decimal = parsed.parts.filter((byte) => numbers.has(byte)).length;
    const hex = hostPart.match(/(?:^|[^0-9a-f])([0-9a-f]{8})(?![0-9a-f])/g)?.map((m) => m.slice(-8)) ?? [];
    const forward = parsed.parts.map((b) => b.toString(16).padStart(2, '0')).join('');
    const backward = [...parsed.parts].reverse().map((b) => b.toString(16).padStart(2, '0')).join('');
    const hexBytes = parsed.parts.filter((byte) => hexRuns.some((run) => run.length === 2 && Number.parseInt(run, 16) === byte)).length;
    return decimal >= 3 || hexBytes >= 3 || hex.includes(forward) || hex.includes(backward);
  }
  const nonZero = parsed.parts.filter((group) => group !== 0);
  const found = nonZero.filter((group) => hexNumbers.has(group)).length;
  return nonZero.length > 0 && found >= Math.min(3, nonZero.length);
}

/**
 * The organisation of a verified host name: the name without its first label, never shorter than
 * the registrable domain (`mail-yw1-f169.google.com` → `google.com`,
 * `mail-eopbgr10051.outbound.protection.outlook.com` → `outbound.protection.outlook.com`).
 * `clientName` must be forward-confirmed (Postfix's `client_name`, never `reverse_client_name`).
 */
export function clientIdentity(clientName: string, clientAddress: string, parseDomain: ParseDomain): ClientIdentity {
  const name = clientName.toLowerCase().replace(/\.$/, '');
  if (name === '' || name === 'unknown') return { kind: 'net', why: 'unverified' };
  if (!HOST_NAME.test(name) || /^[\d.]+$/.test(name)) return { kind: 'net', why: 'not-a-host-name' };
  const parts = parseDomain(name);
  if (parts.isIp === true) return { kind: 'net', why: 'not-a-host-name' };
  if (parts.isIcann !== true && parts.isPrivate !== true) return { kind: 'net', why: 'unlisted-suffix' };
  const domain = parts.domain;
  if (domain === null || domain === '' || name === parts.publicSuffix) return { kind: 'net', why: 'public-suffix' };
  const hostPart = name === domain ? '' : name.slice(0, name.length - domain.length - 1);
  if (spellsAddress(hostPart, clientAddress)) return { kind: 'net', why: 'address-in-name' };
  if (hasDynamicWord(hostPart)) return { kind: 'net', why: 'dynamic-label' };
  const parent = name.slice(name.indexOf('.') + 1);
  return { kind: 'org', org: parent.length < domain.length ? domain : parent };
}
