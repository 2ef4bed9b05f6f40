import { describe, expect, it } from 'vitest';
import { OWN_DESCRIPTORS, openFileLimit, planDescriptors } from '../../policy/descriptor-budget.ts';

const limits = (soft: string): string =>
  'Limit                     Soft Limit           Hard Limit           Units     \n' +
  'Max processes             63459                63459                processes \n' +
  `Max open files            ${soft.padEnd(20)} 1048576              files     \n`;

describe('descriptor budget', () => {
  it('reads the soft open-file limit, and none when unlimited', () => {
    expect(openFileLimit(limits('256'))).toBe(256);
    expect(openFileLimit(limits('unlimited'))).toBeUndefined();
    expect(openFileLimit('')).toBeUndefined();
  });

  it('keeps the wanted caps when they fit under the limit', () => {
    expect(planDescriptors({ policy: 1000, http: 1000 }, 1000 + 1000 + OWN_DESCRIPTORS)).toEqual({ policy: 1000, http: 1000 });
    expect(planDescriptors({ policy: 1000, http: 1000 }, undefined)).toEqual({ policy: 1000, http: 1000 });
  });

  it('lowers the caps under a low limit, the HTTP listener first, and says how to lift it', () => {
    const plan = planDescriptors({ policy: 1000, http: 1000 }, 1024);
    expect(plan.policy + plan.http + OWN_DESCRIPTORS).toBeLessThanOrEqual(1024);
    expect(plan.policy).toBeGreaterThan(plan.http);
    expect(plan.warning).toBe(
      `the open-file limit (1024) is too low for 1000 policy and 1000 HTTP connections plus ${OWN_DESCRIPTORS} descriptors of greygate's own; ` +
        `allowing ${plan.policy} policy and ${plan.http} HTTP connections. Raise the limit (LimitNOFILE= in the systemd unit, ulimit -n) to lift this.`,
    );
  });

  it('gives the policy listener everything without an HTTP listener', () => {
    const plan = planDescriptors({ policy: 1000, http: 0 }, 512);
    expect(plan).toMatchObject({ policy: 512 - OWN_DESCRIPTORS, http: 0 });
    expect(plan.warning).toContain('too low for 1000 policy connections plus');
  });
});
