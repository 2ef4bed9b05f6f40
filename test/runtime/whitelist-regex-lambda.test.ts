// The Lambda with a backtracking client whitelist regex: its entry file's start-up settings must
// protect it as they protect serve. Run in a process of its own, which is killed if it hangs.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runSupportScript, type SupportChild } from '../support/sqlite-child-process.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

/** Generous for a busy machine; a backtracking match of the hostile name takes minutes. */
const ANSWER_BOUND_MS = 500;
const GIVE_UP_MS = 10_000;

let dir: TempDir | undefined;
let child: SupportChild | undefined;
afterEach(async () => {
  if (child && child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  await child?.exited;
  child = undefined;
  await dir?.cleanup();
  dir = undefined;
});

describe('the Lambda with backtracking whitelist regexes', () => {
  it('answers a hostile client_name at once', async () => {
    // Prepare
    dir = await makeTempDir('greygate-lambda-regex-');
    const whitelist = join(dir.path, 'clients');
    await writeFile(whitelist, '/^([a-z0-9-]+\\.?)+\\.example\\.com$/\n');
    const names = [`${'a'.repeat(40)}.attacker.net`, 'Relay.Out.Example.COM'];

    // Act
    child = runSupportScript('./lambda-check-child.ts', [join(dir.path, 'db'), whitelist, ...names]);
    const giveUp = setTimeout(() => child?.process.kill('SIGKILL'), GIVE_UP_MS);
    await child.exited;
    clearTimeout(giveUp);

    // Assess
    expect(child.stdout()).toContain('done');
    const answers = child
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { clientName: string; status: number; body: { action: string }; ms: number });
    expect(answers.map((a) => [a.clientName, a.status, a.body.action])).toEqual([
      [names[0], 200, expect.stringMatching(/^DEFER_IF_PERMIT .*Greylisted/)],
      [names[1], 200, 'DUNNO'],
    ]);
    expect(answers[0]?.ms).toBeLessThan(ANSWER_BOUND_MS);
  });
});
