import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, describeError, type LoggerOptions } from '../../policy/logger.ts';

function capture(opts: Omit<LoggerOptions, 'stream'>): { logger: ReturnType<typeof createLogger>; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return {
    logger: createLogger({ ...opts, stream }),
    lines: () => chunks.join('').split('\n').slice(0, -1),
  };
}

describe('createLogger, text format (Postgrey foreground style)', () => {
  it('writes the bare message per line, warnings and errors prefixed, no timestamp', () => {
    // Prepare
    const { logger, lines } = capture({ format: 'text' });

    // Act
    logger.info('action=greylist, reason=new, client_address=192.0.2.10', { verdict: 'greylist' });
    logger.warn('attribute missing: sender');
    logger.error('store unavailable');
    logger.debug('not shown without verbose');

    // Assess
    expect(lines()).toEqual([
      'action=greylist, reason=new, client_address=192.0.2.10',
      'WARNING: attribute missing: sender',
      'ERROR: store unavailable',
    ]);
  });

  it('hides info when quiet, shows debug when verbose', () => {
    // Prepare
    const { logger, lines } = capture({ format: 'text', quiet: true, verbose: true });

    // Act
    logger.info('per-request line');
    logger.warn('unrecognized request type: \'junk\'');
    logger.debug('connection 3 closed');

    // Assess
    expect(lines()).toEqual(["WARNING: unrecognized request type: 'junk'", 'connection 3 closed']);
  });

  it('keeps one call on one line even when the message holds line breaks', () => {
    // Prepare
    const { logger, lines } = capture({ format: 'text' });

    // Act
    logger.info('sender=a@x\nERROR: forged line\u2028');

    // Assess
    expect(lines()).toEqual(['sender=a@x\\x0aERROR: forged line\\u2028']);
  });
});

describe('createLogger, json format', () => {
  it('writes one object per line with time, level, msg first and the fields after', () => {
    // Prepare
    const { logger, lines } = capture({ format: 'json', now: () => new Date('2026-11-28T02:18:40.000Z') });

    // Act
    logger.info('action=pass, reason=triplet found', { reason: 'triplet-found', delay: 302, msg: 'must not override' });

    // Assess
    const [line] = lines();
    expect(line).toBe('{"time":"2026-11-28T02:18:40.000Z","level":"info","msg":"action=pass, reason=triplet found","reason":"triplet-found","delay":302}');
  });

  it('serialises errors with name, message, code and cause, and survives cycles', () => {
    // Prepare
    const { logger, lines } = capture({ format: 'json', now: () => new Date(0) });
    const cause = Object.assign(new Error('SQLITE_BUSY'), { code: 'SQLITE_BUSY' });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;

    // Act
    logger.error('policy handler failed', { error: new Error('store down', { cause }), cyclic });

    // Assess
    expect(JSON.parse(lines()[0] ?? '')).toEqual({
      time: '1970-01-01T00:00:00.000Z',
      level: 'error',
      msg: 'policy handler failed',
      error: { name: 'Error', message: 'store down', cause: { name: 'Error', message: 'SQLITE_BUSY', code: 'SQLITE_BUSY' } },
      cyclic: { name: 'loop', self: '[Circular]' },
    });
  });
});

describe('describeError', () => {
  it('names the error class and its code', () => {
    expect(describeError(Object.assign(new TypeError('bad'), { code: 'E_BAD' }))).toBe('TypeError [E_BAD]: bad');
    expect(describeError('plain string')).toBe('plain string');
  });
});

describe('createLogger on a broken stream', () => {
  it('keeps running when the log stream fails, as when the reader of stderr dies', async () => {
    // Prepare
    const broken = new Writable({
      write(_chunk, _encoding, done) {
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const logger = createLogger({ format: 'text', stream: broken });

    // Act
    logger.warn('first');
    logger.warn('second');
    await new Promise((resolve) => setImmediate(resolve));

    // Assess: reaching this line means no uncaught 'error' event ended the test process.
    expect(broken.destroyed).toBe(true);
  });
});
