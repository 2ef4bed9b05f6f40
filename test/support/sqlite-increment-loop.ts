// Child process of the shared-database test: opens the SQLite store in argv[2], prints `ready`,
// waits for a line on stdin so that all children start together, then runs argv[3] decisions that
// each increment the same client count and triplet lastSeen, and prints `done`.

import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { openSqliteStore } from '../../functions/store/sqlite-store.ts';

const [dbdir, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (dbdir === undefined || !Number.isSafeInteger(count) || count <= 0 || count > 10_000) {
  process.stderr.write('usage: sqlite-increment-loop.ts DBDIR COUNT (1..10000)\n');
  process.exit(2);
}

const NOW = 1_700_000_000;
const store = openSqliteStore({ dbdir });
const input = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
await once(input, 'line');
input.close();

for (let i = 0; i < count; i += 1) {
  await store.runDecision({ triplet: 'shared/triplet', client: 'shared/client' }, NOW, (state) => ({
    writes: {
      triplet: { firstSeen: NOW, lastSeen: (state.triplet?.lastSeen ?? NOW) + 1, expiresAt: NOW + 86_400 },
      client: { count: (state.client?.count ?? 0) + 1, lastSeen: NOW, expiresAt: NOW + 86_400 },
    },
  }));
}
await store.close();
process.stdout.write('done\n');
