// HTTPS to an API whose certificate comes from a private CA (`--ca-file`): trusted with the flag,
// refused (and failed open) without it. The CA and the server certificate are made by openssl for
// each run, so nothing secret or expiring is checked in.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeTestBridges, startFakeApi, startTestBridge, type FakeApi } from '../support/fake-api.ts';
import { examplePolicyRequest, PolicyClient, sendPolicyRequests } from '../support/policy-client.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let dir: TempDir;
let caFile: string;
let api: FakeApi;

/** A CA, and a certificate for 127.0.0.1 signed by it (P-256 keys: fast to make). */
function makeCertificates(path: string): { key: string; cert: string; caFile: string } {
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: path, stdio: 'pipe' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=greygate test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  run(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(path, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext']);
  return {
    key: readFileSync(join(path, 'server.key'), 'utf8'),
    cert: readFileSync(join(path, 'server.pem'), 'utf8'),
    caFile: join(path, 'ca.pem'),
  };
}

beforeAll(async () => {
  if (!hasOpenssl) return;
  dir = await makeTempDir('greygate-bridge-tls-');
  const made = makeCertificates(dir.path);
  caFile = made.caFile;
  api = await startFakeApi({ tls: { key: made.key, cert: made.cert } });
  api.respond(() => ({ kind: 'json', body: { action: 'DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 300 seconds', verdict: 'greylist' } }));
});
afterEach(async () => {
  await closeTestBridges();
});
afterAll(async () => {
  await api?.close();
  await dir?.cleanup();
});

describe.skipIf(!hasOpenssl)('greygate-bridge over HTTPS', () => {
  it('trusts an API certificate from the --ca-file CA, and reuses its TLS connection', async () => {
    // Prepare
    const before = api.connections;
    const { address } = await startTestBridge(api.url, ['--ca-file', caFile]);

    // Act: one request at a time, as one smtpd process asks
    const client = await PolicyClient.connect(address);
    const answers: string[] = [];
    for (let i = 0; i < 10; i++) answers.push(await client.request(examplePolicyRequest()));
    await client.close();

    // Assess
    expect(answers).toEqual(Array.from({ length: 10 }, () => 'DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 300 seconds'));
    expect(api.connections - before).toBe(1);
  });

  it('refuses the same certificate without --ca-file, answers DUNNO and logs why', async () => {
    // Prepare
    const { address, logs } = await startTestBridge(api.url);

    // Act
    const answers = await sendPolicyRequests(address, [examplePolicyRequest()]);

    // Assess
    expect(answers).toEqual(['DUNNO']);
    expect(logs.text).toMatch(/ERROR: API check failed \(connection: UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate\), answering DUNNO/);
  });
});
