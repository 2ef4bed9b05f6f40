// The Public Suffix List lookup that the organisation identity needs (core/client-identity.ts),
// from tldts, which ships the list and is updated with it. The runtimes import this module only
// when --client-identity=org is set: the list is ~140 KB of code that Postgrey-mode installs never
// load.

import { parse } from 'tldts';
import type { DomainParts } from '../core/client-identity.ts';

export function parseDomainWithPsl(hostname: string): DomainParts {
  // The private section counts: each customer under herokuapp.com or s3.amazonaws.com is an
  // organisation of its own, and each EC2 host under *.compute-1.amazonaws.com a suffix.
  return parse(hostname, { allowPrivateDomains: true, extractHostname: false });
}
