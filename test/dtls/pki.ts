// Test certificates (P-256) made by the openssl command line: a CA, a server and a device
// certificate with a CN and a DNS SAN each. keepDir keeps the PEM files there (for libcoap's -c/-j/-C).
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Pki = { ca: X509Certificate; serverChain: X509Certificate[]; serverKey: KeyObject; deviceChain: X509Certificate[]; deviceKey: KeyObject };

/** A CA, a server and a device certificate (P-256), made by the openssl command line. */
export function makePki(keepDir?: string): Pki {
  const dir = keepDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'dtls-pki-'));
  const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key']);
  run(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=Test CA', '-days', '2', '-out', 'ca.pem']);
  for (const [name, cn, san] of [['server', 'lwm2m.example', 'DNS:lwm2m.example'], ['device', 'urn:dev:sim-9', 'DNS:sim-9.example']] as const) {
    run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
    run(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
    fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
  }
  const read = (f: string): Buffer => fs.readFileSync(path.join(dir, f));
  const out = {
    ca: new X509Certificate(read('ca.pem')),
    serverChain: [new X509Certificate(read('server.pem'))],
    serverKey: createPrivateKey(read('server.key')),
    deviceChain: [new X509Certificate(read('device.pem'))],
    deviceKey: createPrivateKey(read('device.key')),
  };
  if (!keepDir) fs.rmSync(dir, { recursive: true, force: true });
  return out;
}
