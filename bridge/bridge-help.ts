// `greygate-bridge --help`, the option lines written from the option table. Kept apart so the
// entry file stays about wiring.

import { helpSection } from '../functions/config/option-help.ts';

export const BRIDGE_HELP = `usage: greygate-bridge --api URL [--token-file FILE] [options]

Answers Postfix policy requests (as postgrey does) by asking the greygate HTTP API, one
POST /v1/check per request over kept-alive connections. When the API is slow, down or broken, or
answers anything but DUNNO, a greylist deferral or an X-Greylist header, it answers DUNNO (or,
with --on-error defer, the --defer-action text), so mail never stops.

Every option may also be set as an environment variable: --timeout-ms ↔ GREYGATE_TIMEOUT_MS
(--inet/--unix: comma-separated). A flag wins over its variable.

${helpSection('bridge', 'bridge', 'the API')}
${helpSection('bridge', 'listeners', 'policy listeners')}
${helpSection('bridge', 'storage', 'logs')}
${helpSection('bridge', 'meta', 'other')}
Signals: SIGTERM/SIGINT answer the requests in flight, then exit 0; SIGHUP re-reads --token-file.
Exit status: 2 for a bad option or value, 1 when the bridge cannot start.
`;
