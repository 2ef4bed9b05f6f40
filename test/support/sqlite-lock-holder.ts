// Child process of the lock tests: another program on greygate's database file (an admin's sqlite3
// shell in a transaction, a backup script). Takes SQLite's write lock on the file argv[2] with
// BEGIN IMMEDIATE, prints `locked`, holds it argv[3] milliseconds, commits, prints `released`.

import Database from 'better-sqlite3';

const [file, holdArg] = process.argv.slice(2);
const holdMs = Number(holdArg);
if (file === undefined || !Number.isSafeInteger(holdMs) || holdMs < 0 || holdMs > 15_000) {
  process.stderr.write('usage: sqlite-lock-holder.ts FILE HOLD_MS (0..15000)\n');
  process.exit(2);
}

const db = new Database(file, { timeout: 10_000 });
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\n');
setTimeout(() => {
  db.exec('COMMIT');
  db.close();
  process.stdout.write('released\n');
}, holdMs);
