// The selective-greylisting part of the decision service's dependencies, built the same way by
// every composition root (serve, Lambda): only score mode consults DNS lists, and with none
// configured no resolver is ever created.

import type { ServeConfig } from '../config.ts';
import type { DecisionServiceDeps } from '../decision-service.ts';
import { createDnsListChecker } from '../dns/dns-lists.ts';

export type SelectiveConfig = Pick<ServeConfig, 'selective' | 'dnsLists' | 'dnsTimeoutMs' | 'dnsServers'>;

export function selectiveDeps(config: SelectiveConfig, clock: () => number): Pick<DecisionServiceDeps, 'selective' | 'dnsLists'> {
  const dnsLists =
    config.selective.mode === 'score' && config.dnsLists.length > 0
      ? createDnsListChecker({
          zones: config.dnsLists,
          timeoutMs: config.dnsTimeoutMs,
          clock,
          ...(config.dnsServers ? { servers: config.dnsServers } : {}),
        })
      : undefined;
  return { selective: config.selective, ...(dnsLists ? { dnsLists } : {}) };
}
