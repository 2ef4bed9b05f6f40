// An HTTP request listener whose code loads on the first request. serve's API (Hono, its Node
// adapter, the zod request validation: about 12 MiB resident) then costs nothing on a host whose
// Postfix uses only the policy port, the usual single-host setup, while the port is bound (and its
// errors reported) at start as before. The first request waits for the load, about 50 ms once.

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

export function onDemandRequestListener(
  load: () => Promise<RequestListener>,
  onLoadError: (err: unknown) => void,
): RequestListener {
  let loading: Promise<RequestListener> | null = null;
  return (req: IncomingMessage, res: ServerResponse) => {
    loading ??= load();
    loading.then(
      (listener) => listener(req, res),
      (err: unknown) => {
        // Not kept: the next request tries again, in case the files were mid-upgrade.
        loading = null;
        onLoadError(err);
        res.writeHead(503, { 'content-type': 'text/plain' }).end('greygate could not load its HTTP API; see its log\n');
      },
    );
  };
}
