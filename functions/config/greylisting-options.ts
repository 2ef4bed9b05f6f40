// The greylisting part of a configuration, the same for `greygate serve` and the Lambda: Postgrey's
// options as the core's PolicyConfig, and selective greylisting (whose checks the CDK app also runs
// on what it will deploy). Options that would do nothing in the chosen mode are refused, so an
// admin never believes a setting is in effect when it is not.

import { readlinkSync } from 'node:fs';
import { DEFAULT_POLICY_CONFIG, type PolicyConfig } from '../core/policy-config.ts';
import { DEFAULT_CLIENT_SIGNAL_WEIGHTS, type ClientSignalName, type ClientSignalWeights } from '../selective/selective.ts';
import type { DnsListZone, SelectiveSettings } from '../selective/selective.ts';
import type { Env } from './option-row.ts';
import type { OptionReading } from './option-reader.ts';
import type { OptionName } from './option-table.ts';
import { UsageError } from './usage-error.ts';

export interface SelectiveOptions {
  selective: SelectiveSettings;
  /** `--dnsbl` then `--dnswl` zones, in the order given; only with `--selective score`. */
  dnsLists: readonly DnsListZone[];
  dnsTimeoutMs: number;
  /** `IP` / `IP:PORT` / `[IPv6]:PORT`; null = the system's resolvers. */
  dnsServers: readonly string[] | null;
}

export interface GreylistingOptions extends SelectiveOptions {
  policy: PolicyConfig;
  /** `--report-only`: decide and store as usual, answer DUNNO (decision-service.ts). */
  reportOnly: boolean;
}

/**
 * The zone of `%d` (Postgrey: the host's local time). `TZ` answers without asking ICU, which costs
 * a noticeable part of a Lambda cold start (Lambda sets TZ=:UTC). POSIX rule strings such as
 * `EST5EDT,M3.2.0,M11.1.0` are not IANA names: those fall back to ICU's view of local time.
 */
function localTimeZone(env: Env): string {
  const tz = env.TZ?.replace(/^:/, '');
  if (tz && IANA_NAME.test(tz)) return tz;
  return (tz === undefined ? systemZoneName() : null) ?? (Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
}

const IANA_NAME = /^(UTC|Etc\/UTC|[A-Za-z_]+\/[A-Za-z_+\-/0-9]+)$/;

/**
 * The system's zone as the /etc/localtime link names it (`/usr/share/zoneinfo/Europe/Berlin`), as
 * glibc would read it. Asking ICU instead loads its time zone data at start, about 5 MiB of a
 * `serve` that sits idle all day; the data then loads only for the first header date written.
 */
function systemZoneName(): string | null {
  try {
    const name = /\/zoneinfo\/(.+)$/.exec(readlinkSync('/etc/localtime'))?.[1];
    return name !== undefined && IANA_NAME.test(name) ? name : null;
  } catch {
    return null;
  }
}

export function greylistingOptions(reading: OptionReading, env: Env): GreylistingOptions {
  if (reading.get('lookup-by-host') && reading.get('lookup-by-subnet')) {
    throw new UsageError(`${reading.label('lookup-by-host')} and ${reading.label('lookup-by-subnet')} contradict each other; give one`);
  }
  const policy: PolicyConfig = Object.freeze({
    delaySeconds: reading.get('delay'),
    maxAgeDays: reading.get('max-age'),
    retryWindowSeconds: reading.get('retry-window'),
    greylistAction: reading.get('greylist-action'),
    greylistText: reading.get('greylist-text'),
    xGreylistHeader: reading.get('x-greylist-header'),
    lookupByHost: reading.get('lookup-by-host'),
    ipv4Cidr: reading.get('ipv4cidr'),
    ipv6Cidr: reading.get('ipv6cidr'),
    autoWhitelistClients: reading.get('auto-whitelist-clients'),
    clientIdentity: reading.get('client-identity'),
    autoWhitelistOrgs: reading.get('auto-whitelist-orgs'),
    hostname: reading.get('hostname'),
    version: DEFAULT_POLICY_CONFIG.version,
    timeZone: localTimeZone(env),
  });
  return { policy, reportOnly: reading.get('report-only'), ...selectiveOptions(reading) };
}

/** `--signal-weight NAME=W`, repeated: each name once, over the defaults (all 0). */
function signalWeights(reading: OptionReading): ClientSignalWeights {
  const weights: Record<ClientSignalName, number> = { ...DEFAULT_CLIENT_SIGNAL_WEIGHTS };
  const seen = new Set<ClientSignalName>();
  for (const { name, weight } of reading.get('signal-weight')) {
    if (seen.has(name)) throw new UsageError(`${reading.label('signal-weight')}: ${name} is given more than once; give each signal once`);
    seen.add(name);
    weights[name] = weight;
  }
  return Object.freeze(weights);
}

/** Selective greylisting's options, checked against the mode they need. */
export function selectiveOptions(reading: OptionReading): SelectiveOptions {
  const mode = reading.get('selective');
  const needsMode = (names: readonly OptionName[], modes: readonly string[], form: string): void => {
    for (const name of names) {
      if (reading.takes(name) && reading.given(name) && !modes.includes(mode)) {
        throw new UsageError(`${reading.label(name)} has no effect without ${form} (the selective mode is ${mode})`);
      }
    }
  };
  needsMode(['s25r-ipv6'], ['s25r', 'score'], `${reading.label('selective')} s25r or score`);
  needsMode(['greylist-score', 's25r-weight', 'signal-weight', 'dnsbl', 'dnswl', 'dns-timeout-ms', 'dns-servers'], ['score'], `${reading.label('selective')} score`);

  const dnsLists: DnsListZone[] = [];
  for (const kind of ['dnsbl', 'dnswl'] as const) {
    for (const zone of reading.get(kind)) {
      if (dnsLists.some((z) => z.zone === zone.zone)) {
        throw new UsageError(`${reading.label(kind)}: zone ${zone.zone} is given more than once; give each DNS list once`);
      }
      dnsLists.push(zone);
    }
  }
  const selective: SelectiveSettings = Object.freeze({
    mode,
    greylistScore: reading.get('greylist-score'),
    s25rWeight: reading.get('s25r-weight'),
    s25rIpv6: reading.get('s25r-ipv6'),
    signalWeights: signalWeights(reading),
  });
  return {
    selective,
    dnsLists: Object.freeze(dnsLists),
    dnsTimeoutMs: reading.get('dns-timeout-ms'),
    dnsServers: reading.takes('dns-servers') ? reading.get('dns-servers') : null,
  };
}
