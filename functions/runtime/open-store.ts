// Builds the store the config names. SQLite is the single-host default; DynamoDB lets `serve`
// exercise the fleet's store locally (dynalite or a real table) with the same adapter the Lambda uses.

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ServeConfig } from '../config/serve-config.ts';
import { openSqliteStore } from '../store/sqlite-store.ts';
import type { ImportingStore } from '../store/store-port.ts';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * A DynamoDB client for `serve` and `create-table`. Against a local endpoint (dynalite) without AWS
 * credentials in the environment, placeholder credentials are used: the emulator checks none, and
 * the SDK would otherwise refuse to sign. A real endpoint always uses the SDK's credential chain.
 */
export async function dynamoDbClientFor(config: Pick<ServeConfig, 'dynamodbEndpoint'>, env: Env): Promise<DynamoDBClient> {
  // Loaded only when asked for: the AWS SDK adds ~17 MiB to a process that never uses it.
  const { createDynamoDbClient } = await import('../store/dynamodb-table.ts');
  const endpoint = config.dynamodbEndpoint ?? undefined;
  const local = endpoint !== undefined && /^https?:\/\/(127\.|localhost|\[::1\])/.test(endpoint);
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || (local ? 'us-east-1' : undefined);
  return createDynamoDbClient({
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(local && !env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

export async function openConfiguredStore(
  config: Pick<ServeConfig, 'store' | 'dbdir' | 'sqliteSync' | 'table' | 'dynamodbEndpoint' | 'policy'>,
  env: Env,
  warn: (message: string) => void = () => {},
): Promise<ImportingStore> {
  if (config.store === 'sqlite') {
    return openSqliteStore({
      dbdir: config.dbdir,
      synchronous: config.sqliteSync,
      onWarning: warn,
      // The purge then counts the triplets it removes that never passed (functions/stats/).
      statisticsDelaySeconds: config.policy.delaySeconds,
    });
  }
  const { createDynamoDbStore, dynamoDbPolicyHints } = await import('../store/dynamodb-store.ts');
  return createDynamoDbStore({
    client: await dynamoDbClientFor(config, env),
    tableName: config.table as string,
    ...dynamoDbPolicyHints(config.policy),
    // serve made this client, so its close() ends the client's kept-alive connections too.
    closeClient: true,
  });
}
