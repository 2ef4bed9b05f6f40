// `greygate serve --print-config`: the effective configuration as environment lines, the form
// /etc/default/greygate takes, each with where its value came from. Options left at their default
// are listed too, commented out, so the output is the whole picture and a starting point for an
// environment file.

import { RUNTIME_NAMES, type Runtime } from './option-row.ts';
import type { OptionReading } from './option-reader.ts';
import { OPTION_ROWS, type OptionName } from './option-table.ts';

export function printConfiguration(runtime: Runtime, reading: OptionReading): string {
  const set: string[] = [];
  const defaults: string[] = [];
  for (const row of OPTION_ROWS) {
    // Postgrey's options that systemd replaces are refused, not configured: not listed.
    if (!row.runtimes.includes(runtime) || row.env === null || row.refusal !== undefined) continue;
    const given = reading.raw(row.name as OptionName);
    if (given === undefined) {
      const text = row.defaultText.replaceAll('`', '');
      defaults.push(`# ${row.env}=${text.includes(' ') ? `(${text})` : text}`);
    } else {
      set.push(`${row.env}=${given.values.join(',')}`.padEnd(48) + `  # ${given.label}`);
    }
  }
  return [
    `# ${RUNTIME_NAMES[runtime]}: the effective configuration, as lines of /etc/default/greygate`,
    ...(set.length > 0 ? ['# given (flag, variable or preset):', ...set] : ['# nothing given: every option at its default']),
    '# defaults:',
    ...defaults,
    '',
  ].join('\n');
}
