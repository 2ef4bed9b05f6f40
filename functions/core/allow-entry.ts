// Run-time allow entries (`greygate allow add`, `POST /v1/allow`): whitelist entries kept in the
// store and shared by every instance on it, as opposed to the whitelist files each host reads.
// This module is pure: it validates an entry, names it, and matches a request against the entries
// an instance holds in memory. Reading them from the store and refreshing them is
// functions/allow/allow-cache.ts's job.

import { clientIdentity, type ParseDomain } from './client-identity.ts';
import { networkAddress, formatIpAddress, maxPrefixLength, parseIpAddress, type IpAddress } from './ip-address.ts';
import { IpPrefixSet } from './ip-prefix-set.ts';
import { asciiLower } from './text.ts';
import type { Decision, PolicyRequest } from './types.ts';

/**
 * What an entry matches:
 * - `client`: the client address, or a network in CIDR form (`192.0.2.0/24`, `2001:db8::/48`);
 * - `host`: the verified client name (Postfix's `client_name`, forward-confirmed), exactly;
 * - `org`: the organisation of the verified client name, as `--client-identity=org` computes it
 *   (docs/client-identity.md): `google.com` matches `mail-yw1-f169.google.com`;
 * - `recipient`: a recipient address (`helpdesk@example.org`) or a whole domain (`example.org`).
 */
export type AllowKind = 'client' | 'host' | 'org' | 'recipient';
export const ALLOW_KINDS: readonly AllowKind[] = ['client', 'host', 'org', 'recipient'];

export interface AllowEntry {
  /** `kind:value`, the value in its canonical form: adding the same entry twice replaces it. */
  id: string;
  kind: AllowKind;
  value: string;
  /** Epoch seconds after which the entry no longer counts; null = until removed. */
  expiresAt: number | null;
  comment: string;
  /** Who added it: a user name from the CLI, `token:<id>` from the admin API. */
  addedBy: string;
  /** Epoch seconds. */
  addedAt: number;
}

/** What an admin gives; the rest (id, canonical value, addedAt) is computed. */
export interface AllowEntryInput {
  kind: string;
  value: string;
  /** Epoch seconds, or null/undefined for no expiry. */
  expiresAt?: number | null;
  comment?: string;
  addedBy: string;
}

/** Bad input, naming the field an admin must fix (HTTP `field`, the CLI's flag). */
export class AllowEntryError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'AllowEntryError';
  }
}

/** Bounds that keep every instance's copy, and DynamoDB's single item (400 KB), small. */
export const MAX_ALLOW_COMMENT = 200;
export const MAX_ALLOW_BY = 100;
export const MAX_ALLOW_ENTRIES = 1000;
/**
 * All entries together, as stored: DynamoDB keeps them in one item of at most 400 KB, so the
 * limit leaves room for the item's own attributes. Typical entries take 150 bytes; a long comment
 * in a non-Latin script can take over a kilobyte.
 */
export const MAX_ALLOW_BYTES = 300_000;

/** An entry's stored size, near enough to DynamoDB's count (names and values in UTF-8). */
export function allowEntryBytes(entry: AllowEntry): number {
  const text = (value: string): number => new TextEncoder().encode(value).length;
  // The map key (id) and each attribute's name and value; numbers count as 8 bytes.
  return text(entry.id) + text(entry.kind) + text(entry.value) + text(entry.comment) + text(entry.addedBy) + 60;
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)+$/;
// Postfix sends the recipient as the envelope has it; a local part may hold almost anything but
// `@`, spaces and control characters.
const LOCAL_PART = /^[^\s@\p{Cc}]{1,64}$/u;

function printable(text: string, field: string, max: number): string {
  if (text.length > max) throw new AllowEntryError(field, `${field} is ${text.length} characters long; at most ${max} are kept`);
  if (/\p{Cc}/u.test(text)) throw new AllowEntryError(field, `${field} must not contain control characters (newlines, tabs)`);
  return text;
}

function canonicalNetwork(value: string): string {
  const [address = '', length, extra] = value.split('/');
  const ip: IpAddress | null = parseIpAddress(address);
  if (ip === null || extra !== undefined) {
    throw new AllowEntryError('value', `"${value}" is not a client address or network: use 192.0.2.10, 192.0.2.0/24 or 2001:db8::/48`);
  }
  if (length === undefined) return formatIpAddress(ip);
  const bits = /^\d{1,3}$/.test(length) ? Number(length) : NaN;
  if (!(bits >= 0 && bits <= maxPrefixLength(ip))) {
    throw new AllowEntryError('value', `"${value}" has a bad prefix length: use /0 to /${maxPrefixLength(ip)} for ${ip.family === 4 ? 'IPv4' : 'IPv6'}`);
  }
  if (bits < (ip.family === 4 ? 8 : 16)) {
    // A whole /4 of the Internet passing ungreylisted is a typo far more often than a wish.
    throw new AllowEntryError('value', `"${value}" is wider than /${ip.family === 4 ? 8 : 16}: that would let a large part of the Internet through`);
  }
  return `${formatIpAddress(networkAddress(ip, bits))}/${bits}`;
}

function canonicalHost(value: string, kind: 'host' | 'org'): string {
  const name = asciiLower(value).replace(/\.$/, '');
  if (!HOST_NAME.test(name)) {
    throw new AllowEntryError('value', `"${value}" is not a host name${kind === 'org' ? ' (an organisation is a domain such as example.com)' : ''}`);
  }
  return name;
}

function canonicalRecipient(value: string): string {
  const at = value.lastIndexOf('@');
  if (at < 0) return canonicalHost(value, 'host');
  const local = value.slice(0, at);
  if (!LOCAL_PART.test(local)) throw new AllowEntryError('value', `"${value}" is not a recipient address (local@domain) or a domain`);
  // Keys lower-case the whole recipient (Perl's lc), so matching does too.
  return `${asciiLower(local)}@${canonicalHost(value.slice(at + 1), 'host')}`;
}

/** The canonical value of `value` for `kind`; throws AllowEntryError naming `kind` or `value`. */
export function canonicalAllowValue(kind: string, value: string): { kind: AllowKind; value: string } {
  if (!(ALLOW_KINDS as readonly string[]).includes(kind)) {
    throw new AllowEntryError('kind', `"${kind}" is not an allow entry kind: use one of ${ALLOW_KINDS.join(', ')}`);
  }
  const k = kind as AllowKind;
  const trimmed = value.trim();
  if (trimmed === '') throw new AllowEntryError('value', 'value is empty');
  switch (k) {
    case 'client':
      return { kind: k, value: canonicalNetwork(trimmed) };
    case 'host':
    case 'org':
      return { kind: k, value: canonicalHost(trimmed, k) };
    case 'recipient':
      return { kind: k, value: canonicalRecipient(trimmed) };
  }
}

/** `kind:value`; an id given by an admin (`allow remove client:192.0.2.0/24`) is canonicalised too. */
export function allowEntryId(kind: string, value: string): string {
  const canonical = canonicalAllowValue(kind, value);
  return `${canonical.kind}:${canonical.value}`;
}

/** Parses `kind:value` as an admin writes it; throws AllowEntryError naming `id`. */
export function parseAllowEntryId(id: string): string {
  const colon = id.indexOf(':');
  if (colon < 0) throw new AllowEntryError('id', `"${id}" is not an allow entry id: use kind:value, as \`allow list\` prints it`);
  return allowEntryId(id.slice(0, colon), id.slice(colon + 1));
}

/** A checked entry from an admin's input at `now` (epoch seconds). */
export function makeAllowEntry(input: AllowEntryInput, now: number): AllowEntry {
  const { kind, value } = canonicalAllowValue(input.kind, input.value);
  const expiresAt = input.expiresAt ?? null;
  if (expiresAt !== null && (!Number.isSafeInteger(expiresAt) || expiresAt <= now)) {
    throw new AllowEntryError('expires', 'the expiry must be in the future (e.g. 7d, 12h, or an ISO date)');
  }
  const addedBy = printable(input.addedBy, 'by', MAX_ALLOW_BY);
  return {
    id: `${kind}:${value}`,
    kind,
    value,
    expiresAt,
    comment: printable(input.comment ?? '', 'comment', MAX_ALLOW_COMMENT),
    addedBy: addedBy === '' ? 'unknown' : addedBy,
    addedAt: now,
  };
}

/** Live = not expired at `now`. */
export function isLiveAllowEntry(entry: AllowEntry, now: number): boolean {
  return entry.expiresAt === null || entry.expiresAt > now;
}

/**
 * The entries an instance holds, indexed for one lookup per kind. Built once per refresh; `match`
 * is called per decision, so it checks expiry itself (an entry can expire between two refreshes).
 */
export interface AllowMatcher {
  readonly size: number;
  /** The entry that lets `request` through at `now`, or null. */
  match(request: PolicyRequest, now: number): AllowEntry | null;
}

export const EMPTY_ALLOW_MATCHER: AllowMatcher = Object.freeze({ size: 0, match: () => null });

/**
 * `parseDomain` is needed only for `org` entries; without it they never match (the runtimes load
 * the Public Suffix List when an org entry exists, allow-cache.ts).
 */
export function buildAllowMatcher(entries: readonly AllowEntry[], parseDomain?: ParseDomain): AllowMatcher {
  if (entries.length === 0) return EMPTY_ALLOW_MATCHER;
  const networks: { set: IpPrefixSet; entry: AllowEntry }[] = [];
  // Every network in one set: the common case (no entry matches) costs one lookup per prefix
  // length, and only a hit walks the entries to name the one that matched.
  const anyNetwork = new IpPrefixSet();
  const byId = new Map<string, AllowEntry>();
  let orgs = false;
  for (const entry of entries) {
    byId.set(entry.id, entry);
    if (entry.kind === 'org') orgs = true;
    if (entry.kind !== 'client') continue;
    const [address = '', length] = entry.value.split('/');
    const ip = parseIpAddress(address);
    if (ip === null) continue;
    const set = new IpPrefixSet();
    const bits = length === undefined ? maxPrefixLength(ip) : Number(length);
    set.add(ip, bits);
    anyNetwork.add(ip, bits);
    networks.push({ set, entry });
  }
  const live = (entry: AllowEntry | undefined, now: number): AllowEntry | null =>
    entry !== undefined && isLiveAllowEntry(entry, now) ? entry : null;

  return Object.freeze({
    size: entries.length,
    match(request: PolicyRequest, now: number): AllowEntry | null {
      const ip = parseIpAddress(request.clientAddress);
      if (ip !== null && anyNetwork.has(ip)) {
        for (const { set, entry } of networks) if (isLiveAllowEntry(entry, now) && set.has(ip)) return entry;
      }
      const name = asciiLower(request.clientName).replace(/\.$/, '');
      // `unknown`: Postfix could not verify the name, so nothing may be claimed from it.
      if (name !== '' && name !== 'unknown') {
        const host = live(byId.get(`host:${name}`), now);
        if (host) return host;
        if (orgs && parseDomain !== undefined) {
          const identity = clientIdentity(name, request.clientAddress, parseDomain);
          const org = identity.kind === 'org' ? live(byId.get(`org:${identity.org}`), now) : null;
          if (org) return org;
        }
      }
      const recipient = asciiLower(request.recipient);
      const exact = live(byId.get(`recipient:${recipient}`), now);
      if (exact) return exact;
      const at = recipient.lastIndexOf('@');
      return at < 0 ? null : live(byId.get(`recipient:${recipient.slice(at + 1)}`), now);
    },
  });
}

/** The answer for a request an allow entry lets through: like a whitelist, nothing is stored. */
export function allowEntryDecision(entry: AllowEntry): Decision {
  return { verdict: 'pass', reason: 'allow-entry', action: 'DUNNO', writes: {}, events: [], signals: [{ name: 'allow-entry', entry: entry.id }] };
}
