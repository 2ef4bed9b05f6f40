// `--help` and the docs' option tables, written from the option table so that neither can drift
// from what the reader accepts. test/config/option-table.test.ts compares the docs with renderDocTable.

import type { OptionGroup, OptionRow, Runtime } from './option-row.ts';
import { OPTION_ROWS } from './option-table.ts';

const HELP_COLUMN = 31;

function rowsOf(runtime: Runtime, group: OptionGroup): OptionRow[] {
  return OPTION_ROWS.filter((r) => r.group === group && r.runtimes.includes(runtime) && r.refusal === undefined);
}

function defaultFor(row: OptionRow, runtime: Runtime): string {
  return row.defaultTextFor?.[runtime] ?? row.defaultText;
}

function flagText(row: OptionRow): string {
  const short = row.aliases?.find((a) => a.length === 1);
  const form = row.form === '' ? '' : row.form.startsWith('[=') ? row.form : ` ${row.form}`;
  return `${short ? `-${short}, ` : '    '}--${row.name}${form}`;
}

function helpLine(row: OptionRow, runtime: Runtime): string {
  const left = `  ${row.flag ? flagText(row) : `    ${row.env ?? ''}`}`;
  const fallback = defaultFor(row, runtime).replace(/`/g, '');
  const note = fallback === '' || fallback === 'off' || fallback === 'none' ? '' : fallback === 'required' ? ' (required)' : ` (default ${fallback})`;
  const pad = left.length < HELP_COLUMN - 1 ? ' '.repeat(HELP_COLUMN - left.length) : '  ';
  const lines = row.help.split('\n');
  // A long default (a reply text, a header) goes on a line of its own.
  const lastIndex = lines.length - 1;
  const lastWidth = (lastIndex === 0 ? left.length + pad.length : HELP_COLUMN) + (lines[lastIndex] ?? '').length;
  if (note !== '' && lastWidth + note.length > 100) lines.push(note.trim());
  else lines[lastIndex] = `${lines[lastIndex] ?? ''}${note}`;
  return [`${left}${pad}${lines[0] ?? ''}`, ...lines.slice(1).map((l) => `${' '.repeat(HELP_COLUMN)}${l}`)].join('\n');
}

/** One section of `--help`: a title, then a line per option of the group. */
export function helpSection(runtime: Runtime, group: OptionGroup, title: string): string {
  const lines = rowsOf(runtime, group).filter((r) => r.help !== '').map((r) => helpLine(r, runtime));
  return `${title}\n${lines.join('\n')}\n`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(text: string): string {
  return `\`${text}\``;
}

function flagCell(row: OptionRow): string {
  if (!row.flag) return '';
  const short = row.aliases?.filter((a) => a.length === 1).map((a) => `-${a}`) ?? [];
  const form = row.form === '' ? '' : row.form.startsWith('[=') ? row.form : ` ${row.form}`;
  return cell([...short.map(code), code(`--${row.name}${form}`)].join(', '));
}

function defaultCell(row: OptionRow, runtime: Runtime): string {
  const text = defaultFor(row, runtime);
  // Literal values (a number, a mode, a reply text) as code; descriptions ("this host's name") as prose.
  const described = text === '' || text.includes('`') || / /.test(text) || /^(none|off|on|required|true|false|AWS)$/.test(text);
  return cell(row.literalDefault === true && text === row.defaultText ? code(text) : described ? text : code(text));
}

function docFor(row: OptionRow, runtime: Runtime): string {
  return cell(row.docFor?.[runtime] ?? row.doc);
}

export type DocTable = 'serve' | 'bridge' | 'lambda' | 'cdk';

/**
 * A Markdown table of one group's options: `serve` (docs/configuration.md: flag, variable,
 * default, meaning), `bridge` (docs/bridge.md, the same columns), `lambda` (docs/http-api.md:
 * variable, default, meaning), `cdk` (docs/deploy.md: context key, default, the function's variable).
 */
export function renderDocTable(table: DocTable, group?: OptionGroup): string {
  if (table === 'cdk') {
    const rows = OPTION_ROWS.filter((r) => r.cdk !== undefined);
    const lines = rows.map((r) => `| ${code(r.cdk?.key ?? '')} | ${defaultCell(r, 'cdk')} | ${r.env ? `${code(r.env)}: ` : ''}${docFor(r, 'cdk')} |`);
    return ['| context key | default | the function\'s variable and meaning |', '| --- | --- | --- |', ...lines].join('\n');
  }
  if (table === 'lambda') {
    const rows = OPTION_ROWS.filter((r) => r.runtimes.includes('lambda') && r.env !== null);
    const lines = rows.map((r) => `| ${code(r.env ?? '')} | ${defaultCell(r, 'lambda')} | ${docFor(r, 'lambda')} |`);
    return ['| variable | default | meaning |', '| --- | --- | --- |', ...lines].join('\n');
  }
  const runtime: Runtime = table;
  const rows = OPTION_ROWS.filter((r) => r.runtimes.includes(runtime) && r.refusal === undefined && r.group !== 'meta' && (group === undefined || r.group === group));
  const lines = rows.map((r) => `| ${flagCell(r)} | ${r.env ? code(r.env) : ''} | ${defaultCell(r, runtime)} | ${docFor(r, runtime)} |`);
  return ['| option | variable | default | meaning |', '| --- | --- | --- | --- |', ...lines].join('\n');
}

/** The markers around a generated table in a docs file: `<!-- options: serve listeners -->` … `<!-- /options -->`. */
export const DOC_TABLE_MARKER = /<!-- options: (serve|bridge|lambda|cdk)(?: ([a-z]+))? -->\n[\s\S]*?<!-- \/options -->/g;

/** A docs file with each marked table written anew from the option table. */
export function regenerateDocTables(markdown: string): string {
  return markdown.replace(DOC_TABLE_MARKER, (_all, table: DocTable, group: OptionGroup | undefined) => {
    const marker = `<!-- options: ${table}${group ? ` ${group}` : ''} -->`;
    return `${marker}\n${renderDocTable(table, group)}\n<!-- /options -->`;
  });
}
