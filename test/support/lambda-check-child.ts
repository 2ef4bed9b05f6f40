// The Lambda handler in a process of its own, for test/runtime/whitelist-regex-lambda.test.ts:
// imports functions/runtime/lambda.ts as Lambda does (its start-up settings included), builds a
// handler on a SQLite store (the store's kind plays no part here) with the client whitelist files
// given, and sends one /v1/check per client_name given. Prints one JSON line per answer, then `done`.
//
//   node --import tsx test/support/lambda-check-child.ts <dbdir> <whitelist file> <client_name>...

import { createHash } from 'node:crypto';
import { createLambdaHandler } from '../../functions/runtime/lambda.ts';
import { openSqliteStore } from '../../functions/store/sqlite-store.ts';
import { functionUrlEvent } from './function-url-event.ts';

const [dbdir = '', whitelist = '', ...clientNames] = process.argv.slice(2);
const token = 'lambda-child-token';
const handler = createLambdaHandler(
  {
    AWS_REGION: 'eu-west-1',
    GREYGATE_TABLE: 'greygate-test',
    GREYGATE_TOKEN_SHA256: createHash('sha256').update(token).digest('hex'),
    GREYGATE_PRIVACY: 'false',
    GREYGATE_WHITELIST_CLIENTS: whitelist,
  },
  {
    openStore: () => openSqliteStore({ dbdir, checkpointWorker: false }),
    logStream: process.stderr,
    writeMetrics: () => {},
  },
);

for (const [i, clientName] of clientNames.entries()) {
  const event = functionUrlEvent({
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ client_address: `192.0.2.${i + 1}`, client_name: clientName, sender: 'alice@example.net', recipient: 'bob@example.org' }),
  });
  const started = performance.now();
  const result = await handler(event);
  const ms = performance.now() - started;
  process.stdout.write(`${JSON.stringify({ clientName, status: result.statusCode, body: JSON.parse(result.body) as unknown, ms })}\n`);
}
process.stdout.write('done\n');
process.exit(0);
