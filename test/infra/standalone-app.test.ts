// The stand-alone app deploys what it deployed before the stack was built from the exported
// `Greygate` construct: same resources, same logical IDs, same properties.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixturePath, STANDALONE_CASES, synthStandalone } from './standalone-template.ts';

const fixture = (name: string): string => readFileSync(fixturePath(name), 'utf8');

describe('stand-alone CDK app', () => {
  it.each(Object.entries(STANDALONE_CASES))('synthesizes the template of the fixture "%s"', (name, context) => {
    expect(synthStandalone(context)).toEqual(JSON.parse(fixture(name)));
  }, 60_000);

  it('deploys under greygate:stackName: the same template, with the dashboard named after the stack', () => {
    const expected = JSON.parse(fixture('defaults').replaceAll('"Greygate-"', '"Staging-greygate-"')) as unknown;
    expect(fixture('defaults')).toContain('"Greygate-"');
    expect(synthStandalone({ ...STANDALONE_CASES.defaults, 'greygate:stackName': 'Staging-greygate' })).toEqual(expected);
  }, 60_000);

  it('refuses a stack name CloudFormation would refuse, naming the key', () => {
    expect(() => synthStandalone({ 'greygate:stackName': '1st_greygate' })).toThrow(/greygate:stackName: "1st_greygate" is not a CloudFormation stack name/);
  }, 60_000);
});
