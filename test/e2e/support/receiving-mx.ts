// The MX under test: a private Postfix that relays mail for example.org to smtp-sink and asks a
// policy service about every recipient, after reject_unauth_destination, as docs/postfix.md says.
// Its mynetworks leaves out 127.0.0.1, so the tests' loopback clients are strangers to it, like
// any sender on the internet.

import type { CleanupStack } from './cleanup-stack.ts';
import { startPostfix, type PostfixInstance } from './postfix-instance.ts';
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts';

export const TEST_DOMAIN = 'example.org';

export interface ReceivingMx {
  mx: PostfixInstance;
  sink: SmtpSink;
}

export async function startReceivingMx(stack: CleanupStack, policyPort: number): Promise<ReceivingMx> {
  const sink = stack.add(await startSmtpSink());
  const mx = stack.add(
    await startPostfix({
      name: 'mx',
      relayPort: sink.port,
      mynetworks: '127.0.0.2/32',
      relayDomains: TEST_DOMAIN,
      smtpdRecipientRestrictions: `reject_unauth_destination, check_policy_service inet:127.0.0.1:${policyPort}`,
    }),
  );
  return { mx, sink };
}
