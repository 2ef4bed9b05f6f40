// The policy listeners of `--inet`, `--unix` and `--socketmode`, as serve and the bridge both take them.

import type { ListenAddress } from '../../policy/listen-address.ts';

/** Postgrey demands --inet or --unix; greygate defaults to its usual port so `npm start` alone serves. */
const DEFAULT_LISTEN: ListenAddress = Object.freeze({ kind: 'inet', host: '127.0.0.1', port: 10023 });

/** Listeners of `--inet` and `--unix` (with `--socketmode`), shared with the bridge. */
export function listenAddresses(inet: readonly ListenAddress[] | null, unix: readonly string[] | null, socketMode: number): ListenAddress[] {
  const listen: ListenAddress[] = [...(inet ?? [])];
  for (const path of unix ?? []) listen.push({ kind: 'unix', path, mode: socketMode });
  if (listen.length === 0) listen.push(DEFAULT_LISTEN);
  return listen;
}
