// Client IP parsing shared by keying and whitelist matching. ipaddr.js does the IPv6 grammar; the
// checks around it keep out the loose forms it also accepts (`1.2.3`, octal or hex octets, zone
// ids), which Postfix never sends and which would otherwise key the same client two ways.

import ipaddr from 'ipaddr.js';

export type IpAddress =
  | { readonly family: 4; readonly value: number }
  | { readonly family: 6; readonly parts: readonly number[] };

const DOTTED_QUAD = /^(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}$/;

/**
 * Parses an IPv4 or IPv6 address, or returns null. An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`,
 * as a dual-stack listener may report) becomes the IPv4 address, so a client keys and matches the
 * same way whichever socket family it arrived on.
 */
export function parseIpAddress(text: string): IpAddress | null {
  // One decision parses its client address in several places (request validation, keying, each
  // whitelist check); the last answer is kept so the repeats cost a string comparison. Results are
  // immutable, so handing the same one out twice is safe.
  if (text === lastText) return lastResult;
  const result = text.includes(':') ? parseIpv6(text) : parseIpv4(text);
  lastText = text;
  lastResult = result;
  return result;
}

let lastText: string | undefined;
let lastResult: IpAddress | null = null;

function parseIpv4(text: string): IpAddress | null {
  if (!DOTTED_QUAD.test(text)) return null;
  // Digits and dots only, as the pattern checked: summed in place rather than split into strings.
  let value = 0;
  let octet = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== DOT) {
      octet = octet * 10 + (code - ZERO);
      continue;
    }
    if (octet > 255) return null;
    value = value * 256 + octet;
    octet = 0;
  }
  return octet > 255 ? null : { family: 4, value: value * 256 + octet };
}

const DOT = 0x2e;
const ZERO = 0x30;

function parseIpv6(text: string): IpAddress | null {
  if (text.includes('%') || !ipaddr.IPv6.isValid(text)) return null;
  const dotted = text.slice(text.lastIndexOf(':') + 1);
  if (dotted.includes('.') && parseIpv4(dotted) === null) return null;
  const parsed = ipaddr.IPv6.parse(text);
  if (parsed.isIPv4MappedAddress()) {
    const [a = 0, b = 0, c = 0, d = 0] = parsed.toIPv4Address().octets;
    return { family: 4, value: ((a << 24) | (b << 16) | (c << 8) | d) >>> 0 };
  }
  return { family: 6, parts: Object.freeze([...parsed.parts]) };
}

export function maxPrefixLength(ip: IpAddress): number {
  return ip.family === 4 ? 32 : 128;
}

/** `prefixLength` as a whole number of bits within `ip`'s family's range. */
export function clampPrefixLength(ip: IpAddress, prefixLength: number): number {
  return Math.max(0, Math.min(maxPrefixLength(ip), Math.trunc(prefixLength)));
}

/** The network address of `ip` under a prefix of `prefixLength` bits (clamped to the family's range). */
export function networkAddress(ip: IpAddress, prefixLength: number): IpAddress {
  const bits = clampPrefixLength(ip, prefixLength);
  if (ip.family === 4) return { family: 4, value: (ip.value & ipv4Mask(bits)) >>> 0 };
  const parts = ip.parts.map((part, index) => {
    const kept = Math.max(0, Math.min(16, bits - index * 16));
    return kept === 0 ? 0 : part & ((0xffff << (16 - kept)) & 0xffff);
  });
  return { family: 6, parts };
}

/** The netmask of an IPv4 prefix of `bits` (0 to 32) bits, as an unsigned 32-bit number. */
export function ipv4Mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * Dotted decimal for IPv4; for IPv6 the expanded, uncompressed, lower-case form NetAddr::IP gave
 * Postgrey's keys (`2001:db8:1:2:0:0:0:0`): eight groups, no leading zeros, no `::`.
 */
export function formatIpAddress(ip: IpAddress): string {
  if (ip.family === 4) {
    const v = ip.value;
    return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
  }
  return ip.parts.map((part) => part.toString(16)).join(':');
}
