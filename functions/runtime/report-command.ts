// `greygate report`: the postgreyreport / sqlgrey-logstats replacement. Reads the statistics and
// the pending triplets from the store `serve` uses (the SQLite file, or the DynamoDB table every
// instance of a fleet shares) and prints them as text, JSON or CSV. It only reads, so it runs
// beside a live `serve`: SQLite's WAL lets it read while serve writes, and what serve counted
// since its last flush (--stats-flush-seconds) shows up on the next run.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { commandLineSource, readOptions } from '../config/option-reader.ts';
import { UsageError } from '../config/usage-error.ts';
import { formatReport } from '../stats/report-format.ts';
import { hourOf } from '../stats/stats-model.ts';
import type { HasStatistics } from '../stats/stats-port.ts';
import { buildReport } from '../stats/stats-report.ts';
import { DEFAULT_SQLITE_FILE_NAME, openSqliteStore } from '../store/sqlite-store.ts';
import { StoreMisconfiguredError, type GreylistStore } from '../store/store-port.ts';
import { REPORT_HELP } from './cli-help.ts';
import { dynamoDbClientFor } from './open-store.ts';

type Env = Readonly<Record<string, string | undefined>>;

export async function runReport(argv: readonly string[], env: Env, write: (text: string) => void, now = Math.floor(Date.now() / 1000)): Promise<number> {
  const reading = readOptions('report', commandLineSource('report', argv, env), env);
  const [extra] = reading.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" (see --help)`);
  if (reading.get('help')) {
    write(REPORT_HELP);
    return 0;
  }
  const kind = reading.get('store');
  const table = reading.get('table');
  if (kind === 'dynamodb' && !table) throw new UsageError('--store dynamodb needs --table NAME (or GREYGATE_TABLE)');
  const delaySeconds = reading.get('delay');
  const retryWindowSeconds = reading.get('retry-window');

  let store: GreylistStore & HasStatistics;
  let name: string;
  if (kind === 'sqlite') {
    const dbdir = reading.get('dbdir');
    const file = join(dbdir, DEFAULT_SQLITE_FILE_NAME);
    // Opening would create an empty database: a wrong --dbdir must say so instead.
    if (!existsSync(file)) {
      throw new StoreMisconfiguredError(`there is no greygate database in ${dbdir} (no ${file}): give the --dbdir that serve uses`);
    }
    store = openSqliteStore({ dbdir, checkpointWorker: false });
    name = `sqlite:${file}`;
  } else {
    const { createDynamoDbStore } = await import('../store/dynamodb-store.ts');
    store = createDynamoDbStore({
      client: await dynamoDbClientFor({ dynamodbEndpoint: reading.get('dynamodb-endpoint') }, env),
      closeClient: true,
      tableName: table as string,
      retryWindowSeconds,
      maxAgeSeconds: 35 * 86_400,
      delaySeconds,
    });
    name = `dynamodb:${table as string}`;
  }
  try {
    const statistics = store.statistics();
    const since = reading.get('since');
    const [hours, pending] = await Promise.all([
      statistics.readStatistics(hourOf(now - since), now),
      statistics.pendingTriplets(now, delaySeconds),
    ]);
    const report = buildReport({
      store: name,
      now,
      sinceSeconds: since,
      retryWindowSeconds,
      hours,
      pending,
      countsNeverPassed: statistics.countsNeverPassed,
    });
    write(formatReport(report, reading.get('format')));
    return 0;
  } finally {
    await store.close();
  }
}
