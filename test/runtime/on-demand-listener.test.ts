// serve's HTTP API loads on its first request (on-demand-listener.ts): the code is loaded once for
// requests that arrive together, and a failed load answers 503 and is tried again by the next request.

import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { onDemandRequestListener } from '../../functions/runtime/on-demand-listener.ts';

let server: Server | null = null;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
});

async function listen(listener: RequestListener): Promise<string> {
  server = createServer(listener);
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('an HTTP listener loaded on demand', () => {
  it('loads nothing before the first request, then once for requests arriving together', async () => {
    let loads = 0;
    const url = await listen(
      onDemandRequestListener(async () => {
        loads += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return (_req, res) => res.end('ok');
      }, () => undefined),
    );
    expect(loads).toBe(0);
    const bodies = await Promise.all([fetch(url), fetch(url), fetch(url)].map(async (r) => (await r).text()));
    expect(bodies).toEqual(['ok', 'ok', 'ok']);
    expect(loads).toBe(1);
  });

  it('answers 503 and reports a failed load, and loads again on the next request', async () => {
    const errors: string[] = [];
    let attempt = 0;
    const url = await listen(
      onDemandRequestListener(
        async () => {
          attempt += 1;
          if (attempt === 1) throw new Error('Cannot find module hono');
          return (_req, res) => res.end('ok');
        },
        (err) => errors.push(String(err)),
      ),
    );
    const first = await fetch(url);
    expect(first.status).toBe(503);
    expect(await first.text()).toContain('could not load its HTTP API');
    expect(errors).toEqual(['Error: Cannot find module hono']);
    const second = await fetch(url);
    expect(await second.text()).toBe('ok');
  });
});
