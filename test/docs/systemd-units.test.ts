// The systemd units that docs/postfix.md and docs/bridge.md give admins to install, checked the
// way systemd reads them (`systemd-analyze verify`: unknown keys, bad values, a missing
// executable) and the way greygate reads their ExecStart= and Environment= (its flags and
// variables parse), so that the docs can drift from neither. Each drop-in is checked applied to
// its unit.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBridgeConfig } from '../../bridge/bridge-config.ts';
import { REPO_ROOT as root } from '../../build/bundle-options.ts';
import { OPTION_ROWS } from '../../functions/config/option-table.ts';
import { parseServeConfig } from '../../functions/config/serve-config.ts';

interface UnitBlock {
  doc: string;
  /** The service the block is, or the one it is a drop-in for. */
  service: string;
  dropIn: boolean;
  text: string;
}

/** The ```ini blocks headed `# /etc/systemd/system/NAME.service` or `# systemctl edit NAME`. */
function unitBlocks(doc: string): UnitBlock[] {
  const markdown = readFileSync(join(root, 'docs', doc), 'utf8');
  const blocks: UnitBlock[] = [];
  for (const [, text] of markdown.matchAll(/^```ini\n([\s\S]*?)^```$/gm)) {
    const head = text?.split('\n', 1)[0] ?? '';
    const unit = /^# \/etc\/systemd\/system\/(\S+\.service)$/.exec(head);
    const edit = /^# systemctl edit (\S+)/.exec(head);
    if (unit?.[1]) blocks.push({ doc, service: unit[1], dropIn: false, text: text ?? '' });
    else if (edit?.[1]) blocks.push({ doc, service: `${edit[1]}.service`, dropIn: true, text: text ?? '' });
  }
  return blocks;
}

/** The ```ini blocks headed `# /etc/default/NAME`: the environment files the units read. */
function environmentFiles(doc: string): Map<string, Record<string, string>> {
  const markdown = readFileSync(join(root, 'docs', doc), 'utf8');
  const files = new Map<string, Record<string, string>>();
  for (const [, path, text] of markdown.matchAll(/^```ini\n# (\/etc\/default\/\S+)\n([\s\S]*?)^```$/gm)) {
    const vars: Record<string, string> = {};
    for (const line of (text ?? '').split('\n')) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) vars[m[1]] = m[2];
    }
    if (path !== undefined) files.set(path, vars);
  }
  return files;
}

/** The unit as systemd would load it: the unit's lines, then a drop-in's (later settings win). */
function effectiveUnits(blocks: UnitBlock[]): Array<{ name: string; text: string }> {
  const units = blocks.filter((b) => !b.dropIn);
  const variants = units.map((u) => ({ name: `${u.doc}: ${u.service}`, text: u.text }));
  const dropIns = new Map<string, number>();
  for (const d of blocks.filter((b) => b.dropIn)) {
    const unit = units.find((u) => u.service === d.service);
    if (!unit) throw new Error(`${d.doc}: a drop-in for ${d.service}, whose unit the doc does not show`);
    const n = (dropIns.get(d.service) ?? 0) + 1;
    dropIns.set(d.service, n);
    variants.push({ name: `${d.doc}: ${d.service} with drop-in ${n}`, text: `${unit.text}\n${d.text}` });
  }
  return variants;
}

/** The variables of its Environment= lines (one NAME=value each in these docs). */
function environment(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^Environment=([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) env[m[1]] = m[2];
  }
  return env;
}

/** The argv of the last ExecStart= (an empty one resets the list, as in systemd). */
function execStart(text: string): string[] {
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n');
  const starts = lines.filter((l) => l.startsWith('ExecStart=')).map((l) => l.slice('ExecStart='.length).trim());
  const last = starts.at(-1);
  if (!last) throw new Error('the unit has no ExecStart=');
  return last.split(/\s+/);
}

const units = [...effectiveUnits(unitBlocks('postfix.md')), ...effectiveUnits(unitBlocks('bridge.md'))];
const envFiles = new Map([...environmentFiles('postfix.md'), ...environmentFiles('bridge.md')]);

/** The unit's EnvironmentFile=, which must be one of the files the docs show. */
function environmentFile(text: string): { path: string; vars: Record<string, string> } {
  const path = /^EnvironmentFile=-(\S+)$/m.exec(text)?.[1];
  const vars = path === undefined ? undefined : envFiles.get(path);
  if (path === undefined || vars === undefined) throw new Error(`EnvironmentFile=${path ?? ''}: no such file shown in the docs`);
  return { path, vars };
}

/** The GREYGATE_* variables a runtime reads, from the option table. */
function knownVariables(runtime: 'serve' | 'bridge'): string[] {
  return OPTION_ROWS.flatMap((row) => (row.env !== null && row.runtimes.includes(runtime) ? [row.env] : []));
}
const work = mkdtempSync(join(tmpdir(), 'greygate-units-'));
// npm install makes the bin executable; a stand-in, as the checkout's dist/ may not be built yet.
const BRIDGE = join(work, 'greygate-bridge');
const tokenFile = join(work, 'token');
writeFileSync(BRIDGE, '#!/bin/sh\n', { mode: 0o755 });
writeFileSync(tokenFile, 'a-bridge-token-for-the-test\n', { mode: 0o600 });

// Paths of an installed greygate, pointed at this checkout and the test's own files.
function localized(text: string): string {
  return text
    .replaceAll('/usr/local/bin/greygate-bridge', BRIDGE)
    .replaceAll('/usr/local/bin/greygate', join(root, 'bin/greygate.mjs'))
    .replaceAll('/usr/bin/node', process.execPath)
    .replaceAll('%d/token', tokenFile)
    .replaceAll('/etc/greygate/bridge-token', tokenFile);
}

const systemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('systemd units in the docs', () => {
  it('are all found: serve, its unix-socket and environment drop-ins, the bridge and its fixed-user drop-in', () => {
    expect(units.map((u) => u.name)).toEqual([
      'postfix.md: greygate.service',
      'postfix.md: greygate.service with drop-in 1',
      'postfix.md: greygate.service with drop-in 2',
      'bridge.md: greygate-bridge.service',
      'bridge.md: greygate-bridge.service with drop-in 1',
    ]);
  });

  describe.each(units)('$name', ({ name, text }) => {
    it('starts greygate with flags and variables that greygate accepts', () => {
      const unit = localized(text);
      const argv = execStart(unit);
      // systemd: variables from EnvironmentFile= override those of Environment=.
      const env = { ...environment(unit), ...environmentFile(unit).vars };
      if (name.includes('greygate-bridge')) {
        expect(argv[0]).toBe(BRIDGE);
        expect(parseBridgeConfig(argv.slice(1), env).help).toBe(false);
      } else {
        expect(argv.slice(0, 2)).toEqual([join(root, 'bin/greygate.mjs'), 'serve']);
        expect(parseServeConfig(argv.slice(2), env).help).toBe(false);
      }
    });

    it('runs as the greygate user, reads /etc/default/<name>, logs to the mail facility as <name> (like postgrey)', () => {
      const service = name.includes('greygate-bridge') ? 'greygate-bridge' : 'greygate';
      const lines = text.split('\n');
      expect(lines).toContain('User=greygate');
      expect(lines).toContain('Group=greygate');
      expect(lines.some((l) => l.startsWith('DynamicUser='))).toBe(false);
      expect(lines).toContain(`SyslogIdentifier=${service}`);
      expect(lines).toContain('SyslogFacility=mail');
      const { path, vars } = environmentFile(text);
      expect(path).toBe(`/etc/default/${service}`);
      const known = knownVariables(service === 'greygate' ? 'serve' : 'bridge');
      expect(Object.keys(vars).length).toBeGreaterThan(0);
      expect(Object.keys(vars).filter((v) => !known.includes(v))).toEqual([]);
      for (const hardening of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'CapabilityBoundingSet=']) {
        expect(lines).toContain(hardening);
      }
    });

    it.skipIf(!systemdAnalyze)('passes systemd-analyze verify without a warning', () => {
      const file = join(work, name.includes('greygate-bridge') ? 'greygate-bridge.service' : 'greygate.service');
      writeFileSync(file, localized(text));
      // A warning (an unknown key, a value systemd cannot parse) is printed, and the unit still
      // loads with exit status 0: so the output must be empty, not just the status.
      const run = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
      expect(`${run.stdout}${run.stderr}`).toBe('');
      expect(run.status).toBe(0);
    });
  });
});
