// How many connections the listeners may hold so that they cannot use up the process's file
// descriptors between them.
//
// When a process runs out of descriptors, libuv accepts and at once closes every waiting
// connection, on every listener, to keep its event loop from spinning, and reports nothing. So a
// flood on the HTTP port would make the policy port reset Postfix's connections without a word
// in the log. The connection caps are therefore fitted under the open-file limit: greygate's own
// files (store, logs, workers, DNS sockets) get a fixed reserve, the policy listeners come first,
// and the HTTP listener gets what is left, at most a quarter of it when it must give way.

import { readFileSync } from 'node:fs';

/** Descriptors kept for everything but connections: stdio, the store and its workers, libuv, DNS. */
export const OWN_DESCRIPTORS = 128;

export interface ConnectionCaps {
  policy: number;
  http: number;
}

export interface DescriptorPlan extends ConnectionCaps {
  /** Set when the wanted caps did not fit under `limit` and were lowered; says what to do. */
  warning?: string;
}

/** The soft open-file limit (Linux: /proc/self/limits); undefined when unlimited or unknown. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined; // not Linux: Node has already raised the soft limit to the hard one
    }
  }
  const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  const soft = match?.[1];
  return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
}

/** The caps to use under `limit`: `wanted` when it fits, else lowered, with a warning. `http` 0: no HTTP listener. */
export function planDescriptors(wanted: ConnectionCaps, limit: number | undefined): DescriptorPlan {
  if (limit === undefined || wanted.policy + wanted.http + OWN_DESCRIPTORS <= limit) return { ...wanted };
  const available = Math.max(2, limit - OWN_DESCRIPTORS);
  const http = wanted.http === 0 ? 0 : Math.max(1, Math.min(wanted.http, Math.floor(available / 4)));
  const policy = Math.max(1, Math.min(wanted.policy, available - http));
  const listeners = (caps: ConnectionCaps): string => `${caps.policy} policy` + (wanted.http === 0 ? '' : ` and ${caps.http} HTTP`);
  return {
    policy,
    http,
    warning:
      `the open-file limit (${limit}) is too low for ${listeners(wanted)} connections plus ${OWN_DESCRIPTORS} descriptors ` +
      `of greygate's own; allowing ${listeners({ policy, http })} connections. Raise the limit (LimitNOFILE= in the ` +
      'systemd unit, ulimit -n) to lift this.',
  };
}
