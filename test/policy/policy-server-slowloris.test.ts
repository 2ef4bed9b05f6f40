// A slowloris against the policy port: 2,000 connections that each send one byte every 4 s, more
// than the server's 1,000 slots. A good client connecting meanwhile (as a new Postfix smtpd process
// does) must get every answer, with the server's default limits.

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAddressString } from '../../policy/listen-address.ts';
import { examplePolicyRequest, sendPolicyRequests } from '../support/policy-client.ts';
import { closeAllServers, startPolicyServer, waitFor } from './policy-server-harness.ts';

const ATTACKERS = 2000;
const DRIP_INTERVAL_MS = 4000;
const TRIES = 16;
const TRY_SPACING_MS = 300;
// Far above what a loopback answer takes, even on a busy 2-core machine.
const ANSWER_TIMEOUT_MS = 3000;

interface Slowloris {
  /** Connections the server has not closed. */
  open(): number;
  stop(): void;
}

/** `count` connections from `sources` in turn, each sending a request one byte every 4 s. */
async function startSlowloris(address: string, count: number, sources: readonly string[]): Promise<Slowloris> {
  const addr = parseAddressString(address);
  if (addr.kind !== 'inet') throw new Error('the slowloris needs a TCP address');
  const request = 'request=smtpd_access_policy\nsender=slow@example.net\n';
  const sockets = new Set<net.Socket>();
  let sent = 0;
  const connectOne = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const socket = net.connect({ host: addr.host, port: addr.port, localAddress: sources[i % sources.length] });
      socket.on('error', () => {}); // a refused or closed connection is what the attack provokes
      socket.on('close', () => sockets.delete(socket));
      socket.once('connect', () => {
        sockets.add(socket);
        socket.write(request.slice(0, 1));
        resolve();
      });
      socket.once('close', () => resolve());
    });
  for (let i = 0; i < count; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, k) => connectOne(i + k)));
  }
  const drip = setInterval(() => {
    sent += 1;
    const byte = request[sent % request.length] ?? 'x';
    for (const socket of sockets) socket.write(byte);
  }, DRIP_INTERVAL_MS);
  return {
    open: () => sockets.size,
    stop() {
      clearInterval(drip);
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** A new connection per try, one request each, as a freshly started smtpd would. */
async function goodClientTries(address: string): Promise<string[]> {
  const answers: string[] = [];
  for (let i = 0; i < TRIES; i += 1) {
    try {
      const [action] = await sendPolicyRequests(address, [examplePolicyRequest({ instance: `good-${i}` })], { timeoutMs: ANSWER_TIMEOUT_MS });
      answers.push(action ?? 'no answer');
    } catch (err) {
      answers.push(`no answer: ${err instanceof Error ? err.message : String(err)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, TRY_SPACING_MS));
  }
  return answers;
}

let attack: Slowloris | undefined;
afterEach(async () => {
  attack?.stop();
  attack = undefined;
  await closeAllServers();
});

describe('policy server under a slowloris', () => {
  it('answers every try of a good client while 2,000 connections from 127.0.0.1 drip one byte every 4 s', { timeout: 60_000 }, async () => {
    // Prepare
    const { address, logger, server } = await startPolicyServer();
    attack = await startSlowloris(address, ATTACKERS, ['127.0.0.1']);

    // Act
    const answers = await goodClientTries(address);

    // Assess
    expect(answers).toEqual(Array.from({ length: TRIES }, () => 'DUNNO'));
    expect(server.stats().connectionsOpen).toBeLessThanOrEqual(1000);
    // Making room is logged, but as a few lines with counts, not one per connection.
    const limitLines = logger.messages('warn').filter((m) => m.includes('policy connection(s)'));
    expect(limitLines[0]).toMatch(/^closed 1 idle or slow policy connection\(s\) to make room: maxConnectionsPerAddress=500 reached \(latest for a new connection from 127\.0\.0\.1:\d+\)$/);
    expect(limitLines.length).toBeLessThanOrEqual(5);
  });

  it('answers every try of a good client while 2,000 dripping connections come from 127.0.0.2 to 127.0.0.9', { timeout: 60_000 }, async () => {
    // Prepare: 250 connections per address, under the per-address cap, so only the overall cap
    // and its reserve stand between them and the good client on 127.0.0.1.
    const { address, logger, server } = await startPolicyServer();
    const sources = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);
    attack = await startSlowloris(address, ATTACKERS, sources);
    await waitFor(() => server.stats().connectionsOpen === 1000, 'the attack to fill every slot');

    // Act
    const answers = await goodClientTries(address);

    // Assess
    expect(answers).toEqual(Array.from({ length: TRIES }, () => 'DUNNO'));
    const limitLines = logger.messages('warn').filter((m) => m.includes('policy connection(s)'));
    expect(limitLines[0]).toMatch(/^closed 1 idle or slow policy connection\(s\) to make room: maxConnections=1000 reached \(latest for a new connection from 127\.0\.0\.\d+:\d+\)$/);
    expect(limitLines.length).toBeLessThanOrEqual(5);
  });
});
