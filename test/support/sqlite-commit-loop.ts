// Child process of the kill -9 durability test: commits one decision after another into the SQLite
// store in the directory given as argv[2] and prints each key to stdout once its runDecision has
// resolved, i.e. once greygate would have answered Postfix. The parent kills it with SIGKILL
// mid-load and checks that every printed key survived.
//
// Bounded in count and time so it ends by itself if the parent never kills it.

import { openSqliteStore } from '../../functions/store/sqlite-store.ts';

const dbdir = process.argv[2];
if (dbdir === undefined) {
  process.stderr.write('usage: sqlite-commit-loop.ts DBDIR\n');
  process.exit(2);
}

const NOW = 1_700_000_000;
const MAX_DECISIONS = 200_000;
const deadline = Date.now() + 30_000;
const store = openSqliteStore({ dbdir });

for (let i = 0; i < MAX_DECISIONS && Date.now() < deadline; i += 1) {
  const key = `kill9/${i}`;
  await store.runDecision({ triplet: key, client: `client/${i}` }, NOW, () => ({
    writes: {
      triplet: { firstSeen: NOW, lastSeen: NOW + i, expiresAt: NOW + 86_400 },
      client: { count: i, lastSeen: NOW, expiresAt: NOW + 86_400 },
    },
  }));
  // Pipes are written synchronously on Linux, so the line is out before the next commit starts.
  process.stdout.write(`${key}\n`);
}
await store.close();
