// Client whitelist files (postgrey.md §3): entries match the verified client_name or the client IP.

import { IpPrefixSet } from './ip-prefix-set.ts';
import { parseIpAddress } from './ip-address.ts';
import type { IpAddress } from './ip-address.ts';
import { asciiLower } from './text.ts';
import { compileWhitelistRegex } from './whitelist-regex.ts';
import {
  parseWhitelistText,
  regexBody,
  type Classified as ClassifiedAs,
  type EntryOrigin,
  type ParsedWhitelist,
} from './whitelist-lines.ts';

type EntryForm =
  /** Case-folded (whitelist-regex.ts): tested against the ASCII-lower-cased name. */
  | { kind: 'name-regex'; pattern: RegExp }
  /** Lower-cased; matches as `(^|\.)suffix$`. */
  | { kind: 'hostname-suffix'; suffix: string }
  | { kind: 'network'; network: IpAddress; prefixLength: number };

export type ClientWhitelistEntry = EntryOrigin & EntryForm;

export type { ParsedWhitelist };

const IPV4_HOST_OR_CIDR = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/;
const IPV4_THREE_PARTS = /^\d{1,3}(?:\.\d{1,3}){2}$/;
const IPV4_TWO_PARTS = /^\d{1,3}\.\d{1,3}$/;
const IPV6_LIKE = /:.*:/;
const IPV6_WITH_LENGTH = /^([^/]+)(?:\/(\d{1,3}))?$/;

type Classified = ClassifiedAs<EntryForm>;

function ignored(text: string, why: string): Classified {
  return { kind: 'warning', message: `${JSON.stringify(text)} ${why}; entry ignored` };
}

function network(address: string, prefixLength: number, family: 4 | 6, text: string): Classified {
  const ip = parseIpAddress(address);
  if (ip === null) return ignored(text, `is not a valid IPv${family} address or network`);
  if (family === 6 && ip.family === 4) {
    // An IPv4-mapped entry (::ffff:a.b.c.d[/len]) matches the IPv4 client it stands for.
    if (prefixLength < 96) return ignored(text, 'mixes IPv4-mapped and other IPv6 addresses');
    return { kind: 'network', network: ip, prefixLength: prefixLength - 96 };
  }
  const max = ip.family === 4 ? 32 : 128;
  if (prefixLength > max) return ignored(text, `has a prefix length above ${max}`);
  return { kind: 'network', network: ip, prefixLength };
}

/** Postgrey's entry forms, tried in Postgrey's order. */
export function classifyClientEntry(text: string): Classified {
  const body = regexBody(text);
  if (body !== null) {
    const compiled = compileWhitelistRegex(body);
    if (typeof compiled === 'string') return ignored(text, compiled);
    return { kind: 'name-regex', pattern: compiled };
  }
  const v4 = IPV4_HOST_OR_CIDR.exec(text);
  if (v4 !== null) return network(v4[1] ?? '', v4[2] === undefined ? 32 : Number(v4[2]), 4, text);
  if (IPV4_THREE_PARTS.test(text)) return network(`${text}.0`, 24, 4, text);
  // Postgrey 1.37 built a /24 here despite documenting /16; greygate does what the manual says.
  if (IPV4_TWO_PARTS.test(text)) return network(`${text}.0.0`, 16, 4, text);
  if (IPV6_LIKE.test(text)) {
    const v6 = IPV6_WITH_LENGTH.exec(text);
    if (v6 === null) return ignored(text, 'is not a valid IPv6 address or network');
    return network(v6[1] ?? '', v6[2] === undefined ? 128 : Number(v6[2]), 6, text);
  }
  if (/^\S+$/.test(text)) return { kind: 'hostname-suffix', suffix: asciiLower(text) };
  return { kind: 'warning', message: `doesn't look like a hostname: ${JSON.stringify(text)}; entry ignored` };
}

export function parseClientWhitelist(text: string, source: string): ParsedWhitelist<ClientWhitelistEntry> {
  return parseWhitelistText(text, source, classifyClientEntry);
}

/** Client entries compiled for matching: suffix and network lookups are hash lookups. */
export class ClientWhitelistMatcher {
  readonly #regexes: RegExp[] = [];
  readonly #suffixes = new Set<string>();
  readonly #networks = new IpPrefixSet();

  constructor(entries: Iterable<ClientWhitelistEntry> = []) {
    for (const entry of entries) this.add(entry);
  }

  /** For whoever builds the matcher (whitelist.ts); a matcher in use is not changed any more. */
  add(entry: ClientWhitelistEntry): void {
    if (entry.kind === 'name-regex') this.#regexes.push(entry.pattern);
    else if (entry.kind === 'hostname-suffix') this.#suffixes.add(entry.suffix);
    else this.#networks.add(entry.network, entry.prefixLength);
  }

  get size(): number {
    return this.#regexes.length + this.#suffixes.size + this.#networks.size;
  }

  /**
   * Step 3: `/regex/` entries, then hostname suffixes as `(^|\.)suffix$` — a suffix matches the
   * whole name or any tail that starts right after a dot. Only the verified client_name is used,
   * so a client without reverse DNS (`unknown`) matches no name entry.
   */
  matchName(clientName: string): boolean {
    const name = asciiLower(clientName);
    for (const pattern of this.#regexes) {
      if (pattern.test(name)) return true;
    }
    if (this.#suffixes.size === 0) return false;
    if (this.#suffixes.has(name)) return true;
    for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
      if (this.#suffixes.has(name.slice(dot + 1))) return true;
    }
    return false;
  }

  /** Step 4: IP and network entries against client_address. */
  matchAddress(clientAddress: string): boolean {
    if (this.#networks.size === 0) return false;
    const ip = parseIpAddress(clientAddress);
    return ip !== null && this.#networks.has(ip);
  }
}
