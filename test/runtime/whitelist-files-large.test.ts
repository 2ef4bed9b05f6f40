// A million-line client whitelist through the files: read at start-up, and read again on reload
// (what SIGHUP runs) while serve goes on answering with the lists it has.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LINES_PER_SLICE, loadWhitelistFiles, whitelistSlices } from '../../functions/runtime/whitelist-files.ts';
import { BROKEN_LINES, MILLION_ENTRIES, ipv4HostOf, millionLineWhitelist } from '../support/large-whitelist.ts';
import { PolicyClient, examplePolicyRequest } from '../support/policy-client.ts';
import { RecordingLogger, startServeHarness, type ServeHarness } from '../support/serve-harness.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

/**
 * A reload pauses answers for one slice of lines at a time, milliseconds; the bound leaves room
 * for a busy machine and garbage collection, and is still far below what reading a million lines
 * in one go takes.
 */
const ANSWER_BOUND_MS = 1000;

let dir: TempDir | undefined;
let h: ServeHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
  await dir?.cleanup();
  dir = undefined;
});

describe('whitelist files of a million lines', () => {
  it('load at start-up, with each broken line named by its line in the file', { timeout: 120_000 }, async () => {
    // Prepare
    dir = await makeTempDir('greygate-large-whitelist-');
    const path = join(dir.path, 'whitelist_clients.local');
    await writeFile(path, millionLineWhitelist('partner.example'));
    const logger = new RecordingLogger();

    // Act
    const whitelists = await loadWhitelistFiles({ clients: [path], recipients: [] }, logger);

    // Assess
    expect(whitelists.counts.clients).toBe(MILLION_ENTRIES);
    expect(logger.messages('warn')).toEqual(BROKEN_LINES.map((line) => `${path} line ${line}: doesn't look like a hostname: "bad entry ${line - 1}"; entry ignored`));
    expect(whitelists.matchClient('mx999998.sender998.partner.example', '192.0.2.1')).toBe(true);
    expect(whitelists.matchClient('unknown', ipv4HostOf(999_990))).toBe(true);
  });

  it('reload while serve keeps answering, and then whitelist what the new file says', { timeout: 180_000 }, async () => {
    // Prepare
    dir = await makeTempDir('greygate-large-whitelist-');
    const path = join(dir.path, 'whitelist_clients.local');
    await writeFile(path, millionLineWhitelist('before.example'));
    h = await startServeHarness(['--delay', '2', '--whitelist-clients', path]);
    const client = await PolicyClient.connect(h.policyAddress, { timeoutMs: 10_000 });
    const ask = (clientName: string, instance: string): Promise<string> =>
      client.request(examplePolicyRequest({ client_name: clientName, client_address: '192.0.2.1', instance }));
    expect(await ask('mx999998.sender998.before.example', 'b1')).toBe('DUNNO');
    await writeFile(path, millionLineWhitelist('after.example'));

    // Act: reload, and ask meanwhile
    let reloaded = false;
    const reload = h.serve.reloadWhitelists().finally(() => {
      reloaded = true;
    });
    let answersDuringReload = 0;
    let slowestMs = 0;
    for (let i = 0; !reloaded; i++) {
      const started = performance.now();
      expect(await ask('mx999998.sender998.before.example', `d${i}`)).toBe('DUNNO');
      slowestMs = Math.max(slowestMs, performance.now() - started);
      answersDuringReload += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await reload;
    const after = [await ask('mx999998.sender998.after.example', 'a1'), await ask('mx999998.sender998.before.example', 'a2')];
    client.destroy();

    // Assess
    expect(after[0]).toBe('DUNNO');
    expect(after[1]).toMatch(/^DEFER_IF_PERMIT/);
    expect(answersDuringReload).toBeGreaterThanOrEqual(10);
    expect(slowestMs).toBeLessThan(ANSWER_BOUND_MS);
    expect(h.logger.messages('error')).toEqual([]);
    expect(h.logger.messages('warn').filter((m) => m.includes(`${path} line 750020:`))).toHaveLength(2);
  });

  it('are read in slices that keep the file\'s line numbers', () => {
    // Prepare
    const text = Array.from({ length: 2 * LINES_PER_SLICE + 500 }, (_, i) => `host${i + 1}.example`).join('\n');

    // Act
    const slices = [...whitelistSlices({ source: 'f', text })];

    // Assess
    expect(slices.map((s) => s.firstLine)).toEqual([1, LINES_PER_SLICE + 1, 2 * LINES_PER_SLICE + 1]);
    expect(slices.map((s) => s.text.split('\n')[0])).toEqual(['host1.example', `host${LINES_PER_SLICE + 1}.example`, `host${2 * LINES_PER_SLICE + 1}.example`]);
    expect(slices.map((s) => s.text).join('\n')).toBe(text);
  });
});
