// The real Postgrey learns a site's correspondents, is stopped, and its database is imported with
// `greygate import-postgrey`; greygate serve then answers the next requests as Postgrey would:
// pass for known triplets, client AWL for auto-whitelisted clients, greylist for unknown ones.

import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { examplePolicyRequest, sendPolicyRequests, type PolicyAttributes } from '../support/policy-client.ts';
import { postgreyBinary, startPostgrey, type PostgreyProcess } from '../support/postgrey-process.ts';
import { startServeHarness, type ServeHarness } from '../support/serve-harness.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { runGreygate } from './run-greygate.ts';

const dbDumpInstalled = ['db_dump', 'db5.3_dump'].some((name) => {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`]);
    return true;
  } catch {
    return false;
  }
});
const missing = postgreyBinary() === null ? 'postgrey (apt-get install postgrey)' : !dbDumpInstalled ? 'db_dump (apt-get install db-util)' : null;

const OPTIONS = ['--delay', '2', '--auto-whitelist-clients', '2', '--greylist-text', 'Greylisted, see http://postgrey.schweikert.ch/help/%r.html'];
/** A day ago: learned records lie in the past of the import's real clock, well within max-age. */
const T0 = Math.floor(Date.now() / 1000) - 86_400;

const req = (client: string, sender: string, at?: number): PolicyAttributes =>
  examplePolicyRequest({
    client_address: client,
    client_name: 'unknown',
    sender,
    recipient: 'bob@example.org',
    ...(at === undefined ? {} : { policy_test_time: String(at) }),
  });

/** What Postgrey sees: one client passes two triplets an hour apart (auto-whitelisted at 2), another passes one. */
const LEARNING = [
  req('192.0.2.10', 'a1@example.net', T0),
  req('192.0.2.10', 'a1@example.net', T0 + 5),
  req('192.0.2.10', 'a2@example.net', T0 + 3700),
  req('192.0.2.10', 'a2@example.net', T0 + 3705),
  req('198.51.100.7', 'c@example.net', T0),
  req('198.51.100.7', 'c@example.net', T0 + 5),
  // Seen once, never retried: pending, greylisted again as Postgrey would.
  req('203.0.113.5', 'p@example.net', T0 + 10),
];

/** The next requests, at the real time: a known triplet from the same /24, an AWL client, unknown ones. */
const PROBES = [
  req('198.51.100.8', 'c@example.net'),
  req('192.0.2.10', 'someone-new@example.net'),
  req('203.0.113.77', 'stranger@example.net'),
];

describe.skipIf(missing !== null)(`import-postgrey against the real postgrey${missing ? ` (skipped: ${missing} is not installed)` : ''}`, () => {
  let postgrey: PostgreyProcess | undefined;
  let serve: ServeHarness | undefined;
  let dir: TempDir | undefined;

  afterEach(async () => {
    await postgrey?.stop();
    await serve?.stop();
    await dir?.cleanup();
  });

  it('answers the next requests as postgrey would, from its imported database', async () => {
    // Prepare: postgrey learns, answers the probes, and is stopped; its dbdir is kept.
    dir = await makeTempDir('import-postgrey-');
    postgrey = await startPostgrey(OPTIONS);
    const learned = await sendPolicyRequests(postgrey.address, LEARNING);
    const postgreyAnswers = await sendPolicyRequests(postgrey.address, PROBES);
    await stopKeepingDatabase(postgrey);
    const copy = join(dir.path, 'postgrey');
    cpSync(postgrey.dbdir, copy, { recursive: true });
    const dbdir = join(dir.path, 'greygate');

    // Act
    const imported = await runGreygate(['import-postgrey', `--from=${copy}`, `--dbdir=${dbdir}`, '--delay=2']);
    serve = await startServeHarness([...OPTIONS, '--dbdir', dbdir]);
    const answers = await sendPolicyRequests(serve.policyAddress, [
      ...PROBES.slice(0, 2),
      // Postgrey now holds the probe's stranger as pending; greygate gets one unknown to it too.
      req('203.0.113.78', 'another-stranger@example.net'),
      req('203.0.113.5', 'p@example.net'),
    ]);

    // Assess
    expect(learned.slice(0, 2)).toEqual([expect.stringMatching(/^DEFER_IF_PERMIT/), expect.stringMatching(/^PREPEND X-Greylist/)]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('imported 5 triplets and 2 clients');
    expect(postgreyAnswers).toEqual(['DUNNO', 'DUNNO', expect.stringMatching(/^DEFER_IF_PERMIT 4.2.0 Greylisted/)]);
    expect(answers.slice(0, 3)).toEqual(postgreyAnswers);
    // Pending at Postgrey and retried within the retry window: its first pass, as Postgrey would.
    expect(answers[3]).toMatch(/^PREPEND X-Greylist: delayed/);
    const reasons = serve.logger.messages().filter((m) => m.includes('action=')).map((m) => /reason=([^,]*)/.exec(m)?.[1]);
    expect(reasons).toEqual(['triplet found', 'client AWL', 'new', 'triplet found']);
  }, 60_000);
});

/**
 * SIGTERM, as `systemctl stop` sends it, and wait for the exit with the database closed cleanly.
 * Postgrey (Net::Server::Multiplex, Perl's deferred signals) acts on the signal only when its
 * select() returns: a connection wakes it, as the next mail would on a live host.
 */
async function stopKeepingDatabase(pg: PostgreyProcess): Promise<void> {
  process.kill(pg.pid, 'SIGTERM');
  while (isAlive(pg.pid)) {
    await new Promise<void>((resolve) => {
      const socket = connect(pg.port, '127.0.0.1', () => socket.end());
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
    await sleep(50);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
