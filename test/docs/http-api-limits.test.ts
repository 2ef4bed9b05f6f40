// The request limits docs/http-api.md states, checked against what the API does: every "N keys"
// the page names is the number of keys it accepts (N pass, N + 1 are refused), and every key-name
// length it names is the longest name it accepts. An API client sizes its requests by this page.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../build/bundle-options.ts';
import { appUnderTest } from '../support/http-app.ts';

const PAGE = readFileSync(join(REPO_ROOT, 'docs', 'http-api.md'), 'utf8');
const MINIMAL = { client_address: '192.0.2.1', sender: 'a@b.example', recipient: 'c@d.example' };

/** MINIMAL plus ignored attributes up to `count` keys in all. */
function bodyWithKeys(count: number): Record<string, string> {
  const body: Record<string, string> = { ...MINIMAL };
  for (let i = 0; Object.keys(body).length < count; i += 1) body[`extra_${i}`] = 'x';
  return body;
}

describe('docs/http-api.md: the limits it states are the API’s', () => {
  const keyCounts = [...PAGE.matchAll(/(\d+) keys/g)].map((m) => Number(m[1]));

  it('states the number of keys in one way only', () => {
    expect(keyCounts.length).toBeGreaterThan(0);
    expect(new Set(keyCounts).size).toBe(1);
  });

  it('accepts as many keys as it says, and refuses one more', async () => {
    // Prepare
    const t = appUnderTest();
    const [stated = 0] = keyCounts;

    // Act
    const atLimit = await t.check(bodyWithKeys(stated));
    const overLimit = await t.check(bodyWithKeys(stated + 1));

    // Assess
    expect(atLimit.status).toBe(200);
    expect(overLimit.status).toBe(400);
    expect(overLimit.json).toMatchObject({ error: { code: 'invalid-field', message: expect.stringContaining('too many attributes') } });
  });

  it('accepts key names as long as it says, and refuses longer ones', async () => {
    // Prepare
    const t = appUnderTest();
    const stated = /key is not an attribute name \([^)]*at most (\d+) characters\)/.exec(PAGE)?.[1];
    const longest = Number(stated);

    // Act
    const atLimit = await t.check({ ...MINIMAL, [`k${'a'.repeat(longest - 1)}`]: 'x' });
    const overLimit = await t.check({ ...MINIMAL, [`k${'a'.repeat(longest)}`]: 'x' });

    // Assess
    expect(stated).toBeDefined();
    expect(atLimit.status).toBe(200);
    expect(overLimit.status).toBe(400);
  });
});
