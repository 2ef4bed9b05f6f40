// The stand-alone app deploys what it deployed before the stack was built from the exported
// `Greygate` construct: same resources, same logical IDs, same properties.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath, STANDALONE_CASES, synthStandalone } from './standalone-template.ts';

describe('stand-alone CDK app', () => {
  it.each(Object.entries(STANDALONE_CASES))('synthesizes the template of the fixture "%s"', (name, context) => {
    const expected = JSON.parse(readFileSync(fixturePath(name), 'utf8')) as unknown;
    expect(synthStandalone(context)).toEqual(expected);
  }, 60_000);
});
