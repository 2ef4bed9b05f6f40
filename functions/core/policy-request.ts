// Turns the attributes of one policy request (Postfix's `name=value` lines, or the HTTP API's JSON
// keys) into a PolicyRequest, refusing what Postgrey would have crashed on or silently truncated.
//
// Decisions, each a difference from Postgrey 1.37 that an admin can see in a warning:
// - An empty or unparsable client_address is `invalid-attribute` (Postgrey died on it).
// - client_address is an IPv4 dotted quad or an IPv6 address. `::ffff:1.2.3.4` is accepted and
//   keyed as 1.2.3.4. Postfix's `ipv6:` prefix belongs to SMTP address literals and never appears
//   in client_address, so it is refused with a hint rather than guessed at; so are zone ids.
// - A used attribute longer than 512 characters is refused (Postgrey truncated it to 512, which
//   could merge distinct triplets).
// - A control character in a used attribute is refused: such a value can only come from a broken
//   client, and it would end up in reply texts, log lines and store keys.

import { parseIpAddress } from './ip-address.ts';
import type { PolicyRequest } from './types.ts';

export const MAX_ATTRIBUTE_LENGTH = 512;

export type ParseErrorCode = 'missing-attribute' | 'invalid-attribute';

export type ParseResult =
  | { ok: true; request: PolicyRequest }
  | { ok: false; code: ParseErrorCode; field: string; message: string };

/** The attributes Postgrey requires to be defined; an empty value is allowed (`sender=`). */
// Postgrey's order, so that with several missing the warning names the same one first.
export const REQUIRED_ATTRIBUTES = ['client_address', 'client_name', 'recipient', 'sender'] as const;

const OPTIONAL_ATTRIBUTES = [
  'instance',
  'queue_id',
  'protocol_state',
  'helo_name',
  'reverse_client_name',
  'etrn_domain',
  'policy_test_time',
] as const;

/**
 * Every attribute parsePolicyRequest reads, and so bounds-checks; the others are ignored (the
 * policy server does not even keep them). Built once rather than per request.
 */
export const POLICY_REQUEST_ATTRIBUTES = [...REQUIRED_ATTRIBUTES, ...OPTIONAL_ATTRIBUTES] as const;

const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

type Failure = Extract<ParseResult, { ok: false }>;

function invalid(field: string, message: string): Failure {
  return { ok: false, code: 'invalid-attribute', field, message };
}

function quoted(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}

function checkBounds(field: string, value: string): Failure | null {
  if (value.length > MAX_ATTRIBUTE_LENGTH) {
    return invalid(
      field,
      `attribute ${field} is ${value.length} characters long; greygate accepts at most ${MAX_ATTRIBUTE_LENGTH}`,
    );
  }
  if (CONTROL_CHARACTER.test(value)) {
    return invalid(field, `attribute ${field} contains a control character: ${quoted(value)}`);
  }
  return null;
}

function checkClientAddress(value: string): Failure | null {
  if (value === '') {
    return invalid('client_address', 'attribute client_address is empty; expected an IPv4 or IPv6 address');
  }
  if (parseIpAddress(value) !== null) return null;
  const hint = /^ipv6:/i.test(value)
    ? '; send the address without the "ipv6:" prefix'
    : value.includes('%')
      ? '; zone ids (%eth0) are not accepted'
      : '';
  return invalid(
    'client_address',
    `attribute client_address ${quoted(value)} is not an IPv4 or IPv6 address${hint}`,
  );
}

/** `policy_test_time` counts only as a non-negative integer of epoch seconds; anything else is ignored. */
function parseTestTime(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

export function parsePolicyRequest(attrs: ReadonlyMap<string, string>): ParseResult {
  for (const field of REQUIRED_ATTRIBUTES) {
    if (!attrs.has(field)) {
      return { ok: false, code: 'missing-attribute', field, message: `attribute missing: ${field}` };
    }
  }
  for (const field of POLICY_REQUEST_ATTRIBUTES) {
    const value = attrs.get(field);
    const failure = value === undefined ? null : checkBounds(field, value);
    if (failure !== null) return failure;
  }
  const clientAddress = attrs.get('client_address') ?? '';
  const addressFailure = checkClientAddress(clientAddress);
  if (addressFailure !== null) return addressFailure;

  const request: PolicyRequest = {
    clientAddress,
    clientName: attrs.get('client_name') ?? '',
    sender: attrs.get('sender') ?? '',
    recipient: attrs.get('recipient') ?? '',
    etrnDomainPresent: attrs.has('etrn_domain'),
  };
  const instance = attrs.get('instance');
  if (instance !== undefined) request.instance = instance;
  const queueId = attrs.get('queue_id');
  if (queueId !== undefined) request.queueId = queueId;
  const protocolState = attrs.get('protocol_state');
  if (protocolState !== undefined) request.protocolState = protocolState;
  const heloName = attrs.get('helo_name');
  if (heloName !== undefined) request.heloName = heloName;
  const reverseClientName = attrs.get('reverse_client_name');
  if (reverseClientName !== undefined) request.reverseClientName = reverseClientName;
  const policyTestTime = parseTestTime(attrs.get('policy_test_time'));
  if (policyTestTime !== undefined) request.policyTestTime = policyTestTime;
  return { ok: true, request };
}
