// Shared builders for the core tests: a Postfix-shaped request (the attributes of postgrey.md §9)
// and configs with Postgrey's or greygate's defaults.

import { DEFAULT_POLICY_CONFIG } from '../../functions/core/policy-config.ts';
import type { PolicyConfig } from '../../functions/core/policy-config.ts';
import { parsePolicyRequest } from '../../functions/core/policy-request.ts';
import type { PolicyRequest } from '../../functions/core/types.ts';
import { examplePolicyRequest } from '../support/policy-client.ts';

/** Epoch seconds of `Sat, 28 Nov 2026 02:18:40 UTC`, the §9 header date. */
export const LIVE_TEST_TIME = Date.UTC(2026, 10, 28, 2, 18, 40) / 1000;

/** What Postfix 3.x sends for an RCPT-stage request; `undefined` removes an attribute. */
export function postfixAttributes(overrides: Record<string, string | undefined> = {}): Map<string, string> {
  // The attribute list is the policy client's (test/support/policy-client.ts); only the instance
  // id differs, which log-line tests expect.
  const base: Record<string, string | undefined> = {
    ...examplePolicyRequest(),
    instance: '1234.5678.9abc.0',
    ...overrides,
  };
  const attrs = new Map<string, string>();
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined) attrs.set(name, value);
  }
  return attrs;
}

export function postfixRequest(overrides: Record<string, string | undefined> = {}): PolicyRequest {
  const parsed = parsePolicyRequest(postfixAttributes(overrides));
  if (!parsed.ok) throw new Error(`fixture request did not parse: ${parsed.message}`);
  return parsed.request;
}

export function greygateConfig(overrides: Partial<PolicyConfig> = {}): PolicyConfig {
  return { ...DEFAULT_POLICY_CONFIG, ...overrides };
}

/** Postgrey 1.37's defaults, as the §9 live test ran them (plus its `--delay=2` where given). */
export function postgreyConfig(overrides: Partial<PolicyConfig> = {}): PolicyConfig {
  return greygateConfig({
    greylistText: 'Greylisted, see http://postgrey.schweikert.ch/help/%r.html',
    xGreylistHeader: 'X-Greylist: delayed %t seconds by postgrey-%v at %h; %d',
    version: '1.37',
    hostname: 'vm',
    timeZone: 'UTC',
    ...overrides,
  });
}
