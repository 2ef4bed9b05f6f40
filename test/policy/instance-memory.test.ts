import { describe, expect, it } from 'vitest';
import { InstanceMemory } from '../../policy/instance-memory.ts';

describe('InstanceMemory', () => {
  it('recognises a message instance it was told about', () => {
    // Prepare
    const memory = new InstanceMemory(10);

    // Act
    memory.remember('1a2b.3c4d5e6f.7a8b9.0');

    // Assess
    expect(memory.has('1a2b.3c4d5e6f.7a8b9.0')).toBe(true);
    expect(memory.has('ffff.3c4d5e6f.7a8b9.0')).toBe(false);
  });

  it('forgets the oldest instance once capacity is reached, and only that one', () => {
    // Prepare
    const memory = new InstanceMemory(3);

    // Act
    for (const id of ['a', 'b', 'c', 'd']) memory.remember(id);

    // Assess
    expect(['a', 'b', 'c', 'd'].map((id) => memory.has(id))).toEqual([false, true, true, true]);
    expect(memory.size).toBe(3);
  });

  it('keeps an instance seen again among the newest, so an active message is not evicted first', () => {
    // Prepare
    const memory = new InstanceMemory(3);
    for (const id of ['a', 'b', 'c']) memory.remember(id);

    // Act
    memory.remember('a');
    memory.remember('d');

    // Assess
    expect(memory.has('a')).toBe(true);
    expect(memory.has('b')).toBe(false);
  });

  it('stays bounded under a long stream of distinct ids', () => {
    // Prepare
    const memory = new InstanceMemory(1000);

    // Act
    for (let i = 0; i < 50_000; i += 1) memory.remember(`instance-${i}`);

    // Assess
    expect(memory.size).toBe(1000);
    expect(memory.has('instance-49999')).toBe(true);
    expect(memory.has('instance-49000')).toBe(true);
    expect(memory.has('instance-48999')).toBe(false);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new InstanceMemory(0)).toThrow(RangeError);
    expect(() => new InstanceMemory(2.5)).toThrow(/positive integer/);
  });
});

describe('InstanceMemory.claimHeader', () => {
  it('gives each message one header: first claim wins, a missing instance always may, an empty one is an id', () => {
    // Prepare
    const memory = new InstanceMemory(10);

    // Act
    const claims = [
      memory.claimHeader('msg1'),
      memory.claimHeader('msg1'),
      memory.claimHeader(undefined),
      memory.claimHeader(undefined),
      memory.claimHeader(''),
      memory.claimHeader(''),
    ];

    // Assess
    expect(claims).toEqual([true, false, true, true, true, false]);
  });
});
