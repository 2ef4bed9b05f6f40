// What the client says of itself, for score mode: no verified host name, or a HELO name that no
// real mail server of that client would give — an address literal, `localhost`, a bare word, or a
// name of another organisation than its verified host name (a host calling itself
// `mail-xx.google.com` from elsewhere). Each is a named signal with a weight of its own
// (`--signal-weight NAME=W`), in the answer's `signals` and the log line.
//
// Pure: the Public Suffix List lookup comes in, and only the other-organisation check needs it.

import type { ParseDomain } from '../core/client-identity.ts';
import type { ClientSignalName } from '../core/signals.ts';
import type { PolicyRequest } from '../core/types.ts';

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

function isAddressLiteral(helo: string): boolean {
  // RFC 5321's `[192.0.2.1]` and `[IPv6:2001:db8::1]`, and the bare forms some clients send.
  return /^\[.*\]$/.test(helo) || IPV4.test(helo) || /^[0-9a-f:]+$/.test(helo) && helo.includes(':');
}

function registrableDomain(name: string, parseDomain: ParseDomain): string | null {
  const parts = parseDomain(name);
  return parts.isIp === true ? null : parts.domain;
}

/**
 * The signals a request raises. `parseDomain` absent: the other-organisation check is not made
 * (its weight is 0, so the list is not loaded for it).
 */
export function clientSignals(request: Pick<PolicyRequest, 'clientName' | 'heloName'>, parseDomain?: ParseDomain): ClientSignalName[] {
  const signals: ClientSignalName[] = [];
  const name = request.clientName.trim().toLowerCase().replace(/\.$/, '');
  const verified = name !== '' && name !== 'unknown';
  if (!verified) signals.push('no-verified-name');

  const helo = (request.heloName ?? '').trim().toLowerCase().replace(/\.$/, '');
  if (helo === '') return signals;
  if (isAddressLiteral(helo)) signals.push('helo-ip-literal');
  else if (helo === 'localhost' || helo.startsWith('localhost.')) signals.push('helo-localhost');
  else if (!helo.includes('.')) signals.push('helo-bare-word');
  else if (verified && parseDomain !== undefined) {
    const claimed = registrableDomain(helo, parseDomain);
    const actual = registrableDomain(name, parseDomain);
    if (claimed !== null && actual !== null && claimed !== actual) signals.push('helo-other-org');
  }
  return signals;
}
