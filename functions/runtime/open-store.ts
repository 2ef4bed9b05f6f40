// Builds the store the config names. SQLite is the single-host default; DynamoDB lets `serve`
// exercise the fleet's store locally (dynalite or a real table).

import type { ServeConfig } from '../config.ts';
import { openSqliteStore } from '../store/sqlite-store.ts';
import { StoreMisconfiguredError, type GreylistStore } from '../store/store-port.ts';

export async function openConfiguredStore(
  config: Pick<ServeConfig, 'store' | 'dbdir' | 'sqliteSync' | 'table' | 'dynamodbEndpoint' | 'policy'>,
  _env: Readonly<Record<string, string | undefined>>,
): Promise<GreylistStore> {
  if (config.store === 'sqlite') return openSqliteStore({ dbdir: config.dbdir, synchronous: config.sqliteSync });
  throw new StoreMisconfiguredError('the DynamoDB store is not available in this build; use --store sqlite');
}
