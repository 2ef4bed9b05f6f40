import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimitedLog } from '../../policy/rate-limited-log.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('rate-limited log', () => {
  it('logs the first event at once, then one line with a count per interval, and again at once after a quiet interval', () => {
    // Prepare
    const lines: string[] = [];
    const log = new RateLimitedLog<string>({ intervalMs: 1000, write: (count, latest) => lines.push(`${count} ${latest}`) });

    // Act
    for (let i = 1; i <= 500; i += 1) log.note(`e${i}`);
    vi.advanceTimersByTime(1000);
    log.note('e501');
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(1000); // quiet
    log.note('e502');
    log.note('e503');
    log.close();

    // Assess
    expect(lines).toEqual(['1 e1', '499 e500', '1 e501', '1 e502', '1 e503']);
  });
});
