// The selective-greylisting options of the one config schema (docs/selective-greylisting.md):
// the mode, S25R weights, DNS lists and resolvers. Options that would do nothing in the chosen
// mode are refused, so an admin never believes a setting is in effect when it is not.

import { isIP } from 'node:net';
import { UsageError } from '../config/cli-args.ts';
import {
  DEFAULT_DNSBL_WEIGHT,
  DEFAULT_DNSWL_WEIGHT,
  DEFAULT_SELECTIVE_SETTINGS,
  type DnsListKind,
  type DnsListZone,
  type SelectiveSettings,
} from './selective.ts';
import { parseInteger, type OptionSource } from '../config/option-source.ts';

export interface SelectiveOptions {
  selective: SelectiveSettings;
  /** `--dnsbl` then `--dnswl` zones, in the order given; only with `--selective score`. */
  dnsLists: DnsListZone[];
  dnsTimeoutMs: number;
  dnsServers: string[] | null;
}

const MAX_WEIGHT = 1000;
/** A DNS-list query name is the zone plus up to 64 characters (IPv6 nibbles); DNS allows 253. */
const MAX_ZONE_LENGTH = 180;

/** `zone[=weight]` of --dnsbl / --dnswl. */
export function parseDnsListZone(raw: string, kind: DnsListKind, label: string): DnsListZone {
  const m = /^([a-z0-9_-]+(?:\.[a-z0-9_-]+)+)\.?(?:=(\d+))?$/i.exec(raw.trim());
  const zone = m?.[1]?.toLowerCase();
  if (!m || zone === undefined || zone.length > MAX_ZONE_LENGTH) {
    throw new UsageError(`${label}: "${raw}" is not valid; expected zone[=weight], e.g. zen.spamhaus.org=2 or list.dnswl.org`);
  }
  const fallback = kind === 'dnsbl' ? DEFAULT_DNSBL_WEIGHT : DEFAULT_DNSWL_WEIGHT;
  const weight = m[2] === undefined ? fallback : parseInteger(m[2], label, 0, MAX_WEIGHT, `a whole number weight 0-${MAX_WEIGHT} after "="`);
  return { kind, zone, weight };
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

export function parseSelectiveOptions(src: OptionSource): SelectiveOptions {
  const int = src.integer.bind(src);
  const selectiveRaw = src.one('selective') ?? DEFAULT_SELECTIVE_SETTINGS.mode;
  if (selectiveRaw !== 'off' && selectiveRaw !== 's25r' && selectiveRaw !== 'score') {
    throw new UsageError(`${src.label('selective')}: "${selectiveRaw}" is not valid; expected off, s25r or score`);
  }
  const s25rIpv6 = src.one('s25r-ipv6') ?? DEFAULT_SELECTIVE_SETTINGS.s25rIpv6;
  if (s25rIpv6 !== 'apply' && s25rIpv6 !== 'skip') {
    throw new UsageError(`${src.label('s25r-ipv6')}: "${s25rIpv6}" is not valid; expected apply or skip`);
  }
  // An option that would silently do nothing is refused: the admin believes it is in effect.
  const needsMode = (names: readonly string[], modes: readonly string[], form: string): void => {
    for (const name of names) {
      if (src.one(name) !== undefined && !modes.includes(selectiveRaw)) {
        throw new UsageError(`${src.label(name)} has no effect without ${form} (the selective mode is ${selectiveRaw})`);
      }
    }
  };
  needsMode(['s25r-ipv6'], ['s25r', 'score'], '--selective s25r or score');
  needsMode(['greylist-score', 's25r-weight', 'dnsbl', 'dnswl', 'dns-timeout-ms', 'dns-servers'], ['score'], '--selective score');

  const dnsLists: DnsListZone[] = [];
  for (const kind of ['dnsbl', 'dnswl'] as const) {
    for (const raw of src.all(kind) ?? []) {
      const zone = parseDnsListZone(raw, kind, src.label(kind));
      if (dnsLists.some((z) => z.zone === zone.zone)) {
        throw new UsageError(`${src.label(kind)}: zone ${zone.zone} is given more than once; give each DNS list once`);
      }
      dnsLists.push(zone);
    }
  }
  const dnsServersRaw = src.all('dns-servers');
  const dnsServers =
    dnsServersRaw === undefined
      ? null
      : dnsServersRaw.flatMap((v) => v.split(',')).filter((v) => v.trim() !== '').map((v) => parseDnsServer(v, src.label('dns-servers')));
  if (dnsServers !== null && dnsServers.length === 0) {
    throw new UsageError(`${src.label('dns-servers')}: expected at least one resolver address, e.g. 127.0.0.1:53`);
  }
  const weightForm = `a whole number 0-${MAX_WEIGHT}`;
  const selective: SelectiveSettings = Object.freeze({
    mode: selectiveRaw,
    greylistScore: int('greylist-score', DEFAULT_SELECTIVE_SETTINGS.greylistScore, 0, MAX_WEIGHT, weightForm),
    s25rWeight: int('s25r-weight', DEFAULT_SELECTIVE_SETTINGS.s25rWeight, 0, MAX_WEIGHT, weightForm),
    s25rIpv6,
  });

  return { selective, dnsLists, dnsTimeoutMs: int('dns-timeout-ms', 1000, 10, 30_000, 'milliseconds 10-30000, e.g. 1000'), dnsServers };
}
