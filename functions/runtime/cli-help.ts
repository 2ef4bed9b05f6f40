// Help texts for the `greygate` command, the option lines written from the option table. Kept
// apart so the entry file stays about wiring.

import { helpSection } from '../config/option-help.ts';

export const TOP_HELP = `usage: greygate <command> [options]

commands:
  serve     run the policy server (Postfix policy protocol + HTTP API, SQLite store)
  bridge    run greygate-bridge: a Postfix policy socket in front of a remote greygate API
            (\`greygate bridge --help\`; docs/bridge.md)
  create-table --table NAME [--dynamodb-endpoint URL]
            create the DynamoDB table as the CDK stack does (on demand, pk, TTL on expires_at)
  import-postgrey --from DIR [--dry-run] [store options]
            import Postgrey's triplets and auto-whitelisted clients (docs/migration-from-postgrey.md)
  allow add|remove|list, explain, pending, release [serve's store options]
            steer a running greygate: shared allow entries, why a request is greylisted,
            the triplets waiting for a retry and their release (\`greygate allow --help\`; docs/admin.md)
  report [--since 7d] [--format text|json|csv] [store options]
            what greylisting did: decisions per day, mail that never came back, delays,
            pending triplets (docs/metrics.md)
  token     print a new API token and the SHA-256 hash to configure
  version   print the version
  help      this text

\`greygate serve --help\` lists the serve options.
`;

export const CREATE_TABLE_HELP = `usage: greygate create-table --table NAME [--dynamodb-endpoint URL]

Creates the DynamoDB table as the CDK stack does (on demand, partition key pk, TTL on expires_at);
an existing table is left alone and its TTL checked.

${helpSection('create-table', 'storage', 'options')}`;

export const IMPORT_POSTGREY_HELP = `usage: greygate import-postgrey [--from DIR] [--dry-run] [store options]

Imports Postgrey's triplets (postgrey.db) and auto-whitelisted clients (postgrey_clients.db) into
the store serve uses, read with db_dump (Debian package db-util); Postgrey's files are not changed.
Safe to run twice, and beside a running serve: an imported record is merged with what the store
holds (earliest first sighting, latest last sighting, highest count). Records older than
--max-age (pending ones older than --retry-window) are skipped.

${helpSection('import-postgrey', 'storage', 'options')}
${helpSection('import-postgrey', 'greylisting', 'greylisting (as given to serve)')}
${helpSection('import-postgrey', 'meta', 'other')}`;

export const REPORT_HELP = `usage: greygate report [--since 7d] [--format text|json|csv] [store options]

What greylisting did, from the statistics and records in the store serve uses (for a fleet, the
DynamoDB table all its instances share): per day, decisions by verdict, greylisted triplets that
never came back, how long passed mail waited; the triplets pending now and the clients delayed
most. Only reads: runs beside a live serve. Days are UTC days.

${helpSection('report', 'storage', 'store (as given to serve)')}
${helpSection('report', 'greylisting', 'greylisting (as given to serve)')}
${helpSection('report', 'meta', 'report')}`;

export const SERVE_HELP = `usage: greygate serve [options]

Every option may also be set as an environment variable: --max-age ↔ GREYGATE_MAX_AGE
(repeatable options: comma-separated). Both --delay=2 and --delay 2 are accepted; a repeated
option takes its last value.

${helpSection('serve', 'listeners', 'listeners')}
${helpSection('serve', 'greylisting', "greylisting (Postgrey's options)")}
${helpSection('serve', 'selective', 'selective greylisting (docs/selective-greylisting.md; all off by default)')}
${helpSection('serve', 'storage', 'storage and logs')}
${helpSection('serve', 'meta', 'other')}
signals: SIGHUP reloads the whitelists; SIGTERM finishes open requests and exits.
`;

export const ADMIN_HELP = `usage:
  greygate allow add (--client=ADDR[/LEN] | --host=NAME | --org=DOMAIN | --recipient=ADDR|DOMAIN)
                     [--expires=7d|12h|30m|2027-01-31] [--comment=TEXT] [--by=NAME]
  greygate allow remove (--id=KIND:VALUE | --client=… | --host=… | --org=… | --recipient=…)
  greygate allow list
  greygate explain --client-address=IP [--client-name=NAME] --sender=ADDR --recipient=ADDR [--helo-name=NAME]
  greygate explain < policy-request        (Postfix's name=value lines)
  greygate pending [--client=IP|ORG] [--sender=ADDR] [--recipient=ADDR] [--limit=N]
  greygate release (--client=IP|ORG | --sender=ADDR | --recipient=ADDR)…

Each command takes serve's options and GREYGATE_* variables: --dbdir DIR (SQLite), or
--store=dynamodb --table NAME, and the greylisting options serve runs with, so that explain
decides as serve does. --json prints JSON. Allow entries are in force on every instance on the
store within 30 s. explain writes nothing. release makes the next attempt of each matching
pending triplet pass (a normal first pass, with its X-Greylist header). Details: docs/admin.md.
`;
