// The `greygate` command: `serve` (the policy server), `token` (a new API token and its hash),
// `create-table` and `import-postgrey` (one-shot setup and migration).
// This is a composition root: the only place that reads argv and process.env for these commands.

import { randomBytes } from 'node:crypto';
import { createLogger } from '../../policy/logger.ts';
import { DEFAULT_POLICY_CONFIG } from '../core/policy-config.ts';
import { parseServeConfig, UsageError } from '../config/serve-config.ts';
import { sha256Hex } from '../http/bearer-auth.ts';
import { ADMIN_HELP, CREATE_TABLE_HELP, IMPORT_POSTGREY_HELP, SERVE_HELP, TOP_HELP } from './cli-help.ts';
import { commandLineSource, readOptions } from '../config/option-reader.ts';
import { dynamoDbClientFor, openConfiguredStore } from './open-store.ts';
import { createKeyHasher, loadOrCreatePrivacyKey } from './privacy-key.ts';
import { startServe } from './serve.ts';
// Imported statically, unlike the bridge: loaded on demand, it would share the SQLite store's
// modules with this entry, and the bundler would move them into a chunk away from their worker.
import { runReport } from './report-command.ts';
import { enableLinearTimeRegExps } from './linear-regexp.ts';
import { runAdminCommand } from './admin-commands.ts';

enableLinearTimeRegExps();

async function runServe(argv: string[]): Promise<number> {
  const { config, help, version, printConfig } = parseServeConfig(argv, process.env);
  if (help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  if (version) {
    process.stdout.write(`greygate ${DEFAULT_POLICY_CONFIG.version}\n`);
    return 0;
  }
  if (printConfig !== null) {
    process.stdout.write(printConfig);
    return 0;
  }
  const logger = createLogger({ format: config.logFormat, quiet: config.quiet, verbose: config.verbose });
  const running = await startServe(config, { logger, env: process.env });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received: finishing open requests, then exiting`);
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error(`error while shutting down: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    running.reloadWhitelists().catch((err: unknown) => logger.error(`whitelist reload failed: ${(err as Error).message}`));
  });
  return new Promise<number>(() => {
    // Runs until a signal ends the process.
  });
}

function runToken(): number {
  const token = randomBytes(32).toString('base64url');
  process.stdout.write(
    `token:  ${token}\nsha256: ${sha256Hex(token)}\n\n` +
      'Give the token to the client (bridge --token-file, or Authorization: Bearer <token>);\n' +
      'configure the service with the sha256 only (--token-sha256 / GREYGATE_TOKEN_SHA256).\n',
  );
  return 0;
}

async function runCreateTable(argv: string[]): Promise<number> {
  const reading = readOptions('create-table', commandLineSource('create-table', argv, process.env), process.env);
  const [extra] = reading.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  if (reading.get('help')) {
    process.stdout.write(CREATE_TABLE_HELP);
    return 0;
  }
  const table = reading.get('table');
  if (!table) throw new UsageError('create-table needs --table NAME (or GREYGATE_TABLE)');
  const client = await dynamoDbClientFor({ dynamodbEndpoint: reading.get('dynamodb-endpoint') }, process.env);
  const { createTable } = await import('../store/dynamodb-table.ts');
  try {
    const outcome = await createTable(client, table, { onWarning: (m) => process.stderr.write(`greygate: ${m}\n`) });
    process.stdout.write(outcome === 'created' ? `created table ${table}\n` : `table ${table} already exists; TTL checked\n`);
    return 0;
  } finally {
    client.destroy();
  }
}

/**
 * The keyed hash serve stores under `--privacy`, so imported records are found: serve's own
 * `<dbdir>/privacy.key` (created here if serve has not yet), or the Lambda's key, which only the
 * admin can supply.
 */
function importHashKey(store: 'sqlite' | 'dynamodb', dbdir: string, keyHex: string | null): (clear: string) => string {
  if (keyHex !== null) return createKeyHasher(keyHex);
  if (store === 'dynamodb') {
    throw new UsageError('--privacy with --store dynamodb needs GREYGATE_PRIVACY_KEY, the key the Lambda uses (the stack keeps it in its privacy key secret)');
  }
  return createKeyHasher(loadOrCreatePrivacyKey(dbdir));
}

async function runImportPostgrey(argv: string[]): Promise<number> {
  const reading = readOptions('import-postgrey', commandLineSource('import-postgrey', argv, process.env), process.env);
  const [extra] = reading.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" (see --help)`);
  if (reading.get('help')) {
    process.stdout.write(IMPORT_POSTGREY_HELP);
    return 0;
  }
  const store = reading.get('store');
  const table = reading.get('table');
  if (store === 'dynamodb' && !table) throw new UsageError('--store dynamodb needs --table NAME (or GREYGATE_TABLE)');
  const policy = {
    ...DEFAULT_POLICY_CONFIG,
    delaySeconds: reading.get('delay'),
    maxAgeDays: reading.get('max-age'),
    retryWindowSeconds: reading.get('retry-window'),
  };
  const { importPostgrey, readPostgreyDatabase } = await import('../migrate/import-postgrey.ts');
  const dryRun = reading.get('dry-run');
  const database = await readPostgreyDatabase(reading.get('from'));
  const hashKey = reading.get('privacy') ? importHashKey(store, reading.get('dbdir'), reading.get('privacy-key')) : undefined;
  const target = dryRun
    ? null
    : await openConfiguredStore(
        { store, dbdir: reading.get('dbdir'), sqliteSync: 'normal', table, dynamodbEndpoint: reading.get('dynamodb-endpoint'), policy },
        process.env,
        (m) => process.stderr.write(`greygate: ${m}\n`),
      );
  try {
    await importPostgrey(target, database, {
      now: Math.floor(Date.now() / 1000),
      policy,
      hashKey,
      print: (line) => process.stdout.write(`${line}\n`),
    });
    return 0;
  } finally {
    await target?.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return runServe(rest);
    case 'token':
      return runToken();
    case 'create-table':
      return runCreateTable(rest);
    case 'import-postgrey':
      return runImportPostgrey(rest);
    case 'allow':
    case 'explain':
    case 'pending':
    case 'release':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(ADMIN_HELP);
        return 0;
      }
      // A static import: the commands share the store modules with serve, and a chunk of their
      // own would move the SQLite checkpointer away from its worker file in the bundle.
      return runAdminCommand(command, rest, {
        env: process.env,
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
        readStdin: async () => {
          const chunks: Buffer[] = [];
          for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
          return Buffer.concat(chunks).toString('utf8');
        },
      });
    case 'report':
      return runReport(rest, process.env, (text) => process.stdout.write(text));
    case 'bridge':
      // Loaded on demand: the bridge's code is not needed by any other command.
      return (await import('../../bridge/main.ts')).main(rest);
    case 'version':
    case '--version':
      process.stdout.write(`greygate ${DEFAULT_POLICY_CONFIG.version}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(TOP_HELP);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${command}" (commands: serve, bridge, create-table, import-postgrey, report, allow, explain, pending, release, token, version, help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`greygate: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`greygate: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
