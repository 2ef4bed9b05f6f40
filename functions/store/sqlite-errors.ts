// Turns what better-sqlite3 and the file system throw while opening and using the SQLite store into
// the store port's errors, so nothing above the adapter sees a SQLite error type. The message says
// what an admin can do; the original error stays as `cause`.

import Database from 'better-sqlite3';
import { StoreError, StoreMisconfiguredError, StoreUnavailableError } from './store-port.ts';

/**
 * Maps what better-sqlite3 throws to the port's errors. Codes are SQLite's extended result codes
 * (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_FSYNC, ...), hence the prefixes.
 */
export function translateSqliteError(error: unknown, file: string): StoreError {
  if (error instanceof StoreError) return error;
  const options = { cause: error };
  if (!(error instanceof Database.SqliteError)) {
    const detail = error instanceof Error ? error.message : String(error);
    return new StoreError(`unexpected error in the SQLite store ${file}: ${detail}`, options);
  }
  const code = error.code;
  const detail = `${code}: ${error.message}`;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreUnavailableError(
      `the database ${file} is locked by another connection (${detail}); ` +
        'look for another process holding a long transaction on it',
      options,
    );
  }
  if (code === 'SQLITE_NOTADB') {
    return new StoreMisconfiguredError(
      `${file} is not a greygate database, or it is corrupt (${detail}). Move it away; greygate then creates ` +
        'a new one (known senders are greylisted once more).',
      options,
    );
  }
  if (code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError(
      `the database ${file} is corrupt (${detail}). Stop greygate and move the file (with its -wal and -shm ` +
        'files) away, or repair it with `sqlite3 FILE .recover`.',
      { ...options, code: 'store-corrupt' },
    );
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_PERM') {
    return new StoreMisconfiguredError(
      `cannot write the database ${file} (${detail}). The file, its -wal and -shm files and their directory ` +
        'must be writable by the user greygate runs as, on a local, writable file system.',
      options,
    );
  }
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR')) {
    return new StoreUnavailableError(
      `the database ${file} could not be written (${detail}); check free space and the disk`,
      options,
    );
  }
  return new StoreError(`the SQLite store ${file} failed (${detail})`, options);
}

/**
 * True when `error` (or the error it was translated from) is SQLite's SQLITE_BUSY: another
 * connection holds the lock, and trying again later may succeed.
 */
export function isLockBusy(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth += 1) {
    if (e instanceof Database.SqliteError) return e.code.startsWith('SQLITE_BUSY');
  }
  return false;
}

/** What a request that waited `waitedMs` for another connection's lock is rejected with. */
export function lockedTooLong(error: unknown, file: string, waitedMs: number): StoreUnavailableError {
  const code = error instanceof Error && error.cause instanceof Database.SqliteError ? error.cause.code : 'SQLITE_BUSY';
  return new StoreUnavailableError(
    `the database ${file} stayed locked by another connection for ${(waitedMs / 1000).toFixed(1)} s (${code}); ` +
      'look for another process holding a long transaction on it',
    { cause: error },
  );
}

/** What went wrong with the database directory or file, in an admin's words (for messages). */
export function describeFsError(error: unknown): string {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EEXIST':
    case 'ENOTDIR':
      return 'a part of the path is a file, not a directory';
    case 'EISDIR':
      return 'it is a directory';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
