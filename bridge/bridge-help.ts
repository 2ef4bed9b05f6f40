// `greygate-bridge --help`. Kept apart so the entry file stays about wiring.

import { DEFAULT_DEFER_ACTION, DEFAULT_TIMEOUT_MS } from './bridge-config.ts';

export const BRIDGE_HELP = `usage: greygate-bridge --api URL [--token-file FILE] [options]

Answers Postfix policy requests (as postgrey does) by asking the greygate HTTP API, one
POST /v1/check per request over kept-alive connections. When the API is slow, down or broken it
answers DUNNO (or, with --on-error defer, the --defer-action text), so mail never stops.

Every option may also be set as an environment variable: --timeout-ms ↔ GREYGATE_TIMEOUT_MS
(--inet/--unix: comma-separated). A flag wins over its variable.

  -i, --inet [HOST:]PORT     policy listener on TCP (default 127.0.0.1:10023; a bare port binds 127.0.0.1)
  -u, --unix PATH            policy listener on a unix socket
      --socketmode MODE      unix socket permissions (default 0666)
      --api URL              the API's base URL (required): https://HOST[/PATH]; http:// only for
                             a loopback host (a \`greygate serve --http\` on this machine)
      --token-file FILE      the API token (from \`greygate token\`); re-read on SIGHUP.
                             Or GREYGATE_TOKEN=<token> in the environment
      --timeout-ms N         time budget per request, retry included (default ${DEFAULT_TIMEOUT_MS});
                             keep it well under Postfix's policy timeout
      --on-error dunno|defer answer when the API fails: dunno (default, fail open) or defer
      --defer-action TEXT    what defer answers (default "${DEFAULT_DEFER_ACTION}")
      --ca-file FILE         PEM CA certificate(s) trusted for the API, besides the system's
      --exim                 close the connection after each answer
      --max-connections N    concurrent policy connections (default 1000)
      --log-format text|json log lines on stderr (default text)
  -v, --verbose              debug lines
  -q, --quiet                warnings and errors only
  -h, --help                 this text

Signals: SIGTERM/SIGINT answer the requests in flight, then exit 0; SIGHUP re-reads --token-file.
Exit status: 2 for a bad option or value, 1 when the bridge cannot start.
`;
