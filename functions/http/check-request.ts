// Turns a `POST /v1/check` JSON body into the Postfix attribute map the core parses. Keys are
// Postfix attribute names; every value must be a string (numbers are accepted for
// `policy_test_time`). Bounds are checked here so the core never sees an unbounded input.

// Checked by hand, not by a zod schema: this runs for every decision, and keeping zod out of the
// path keeps it out of the Lambda's cold start (openapi.ts describes the same bounds as a schema).
import { parsePolicyRequest } from '../core/index.ts';
import type { PolicyRequest } from '../core/types.ts';
import { ApiError } from './api-error.ts';

/** Postgrey truncates attribute values to 512 characters; the API refuses longer ones instead. */
export const MAX_VALUE_CHARS = 512;
// As many as the policy protocol accepts in one request (policy/policy-server.ts), so whatever
// Postfix sends through the bridge fits.
export const MAX_ATTRIBUTES = 100;
const REQUIRED = ['client_address', 'sender', 'recipient'] as const;

/** A Postfix attribute name: lower-case letters, digits and `_`, at most 64 characters. */
export const ATTRIBUTE_NAME = /^[a-z][a-z0-9_]{0,63}$/;

export function checkBodyToAttributes(body: unknown): Map<string, string> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'invalid-json', 'the body must be a JSON object whose keys are Postfix attribute names');
  }
  const entries = Object.entries(body as Record<string, unknown>);
  if (entries.length > MAX_ATTRIBUTES) {
    throw new ApiError(400, 'invalid-field', `too many attributes (${entries.length}); at most ${MAX_ATTRIBUTES}`);
  }
  const attrs = new Map<string, string>();
  for (const [name, value] of entries) {
    if (!ATTRIBUTE_NAME.test(name)) {
      throw new ApiError(400, 'invalid-field', `"${name.slice(0, 64)}" is not a Postfix attribute name (lower-case letters, digits, _)`, {
        field: name.slice(0, 64),
      });
    }
    let text: string;
    if (typeof value === 'string') text = value;
    else if (typeof value === 'number' && name === 'policy_test_time' && Number.isInteger(value)) text = String(value);
    else if (value === null || value === undefined) continue;
    else throw new ApiError(400, 'invalid-field', `${name} must be a string`, { field: name });
    if (text.length > MAX_VALUE_CHARS) {
      throw new ApiError(400, 'invalid-field', `${name} is ${text.length} characters long; at most ${MAX_VALUE_CHARS}`, { field: name });
    }
    attrs.set(name, text);
  }
  for (const name of REQUIRED) {
    if (!attrs.has(name)) throw new ApiError(400, 'missing-field', `${name} is required`, { field: name });
  }
  // Postfix sends `unknown` when the client has no verified reverse DNS; an API caller may omit it.
  if (!attrs.has('client_name')) attrs.set('client_name', 'unknown');
  if (!attrs.has('request')) attrs.set('request', 'smtpd_access_policy');
  return attrs;
}

/** A `/v1/check` (or `/v1/explain`) body as the core's request, or the 400 naming the field. */
export function checkBodyToRequest(body: unknown): PolicyRequest {
  const parsed = parsePolicyRequest(checkBodyToAttributes(body));
  if (!parsed.ok) {
    throw new ApiError(400, parsed.code === 'missing-attribute' ? 'missing-field' : 'invalid-field', parsed.message, { field: parsed.field });
  }
  return parsed.request;
}
