// REST /security/:endpoint and the CLI's `security` commands against a live server: keys are
// write-only (never in an answer, never in a log line), identities unique, bad input 400.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { LwM2mServer } from '../../src/server.ts';
import { objectsDir } from '../../simulators/fleet.ts';
import { capturedLog, keySpellings, type CapturedLog } from '../helpers/captured-log.ts';
import { createRng } from '../helpers/prng.ts';

const rng = createRng(7250);
const KEY = rng.bytes(16);
const CLI_KEY = rng.bytes(32);
let server: LwM2mServer;
let api: FastifyInstance;
let logs: CapturedLog;

beforeAll(async () => {
  logs = capturedLog('debug');
  server = await LwM2mServer.start({ log: logs.log, objectsDir, coapHost: '127.0.0.1', coapPort: 0 });
  api = await buildApi({ server, log: logs.log });
});
afterAll(async () => {
  await api.close();
  await server.stop();
  const text = logs.text();
  for (const k of [...keySpellings(KEY), ...keySpellings(CLI_KEY)]) expect(text.includes(k)).toBe(false);
});

describe('REST /security/:endpoint', () => {
  it('stores PSK info (201), returns it without the key, replaces it (200), lists it and removes it (204)', async () => {
    const put = await api.inject({ method: 'PUT', url: '/security/rest-psk', payload: { mode: 'psk', identity: 'rest-identity', key: KEY.toString('hex') } });
    expect(put.statusCode).toBe(201);
    expect(put.json()).toEqual({ endpoint: 'rest-psk', mode: 'psk', identity: 'rest-identity', keyLength: 16 });
    const get = await api.inject({ method: 'GET', url: '/security/rest-psk' });
    expect(get.json()).toEqual(put.json());
    for (const k of keySpellings(KEY)) expect(get.body.includes(k)).toBe(false);
    // the stored key is the one sent: the DTLS lookup finds it by identity
    expect((await server.security.byPskIdentity('rest-identity'))).toMatchObject({ endpoint: 'rest-psk', key: KEY.toString('hex') });
    expect((await api.inject({ method: 'PUT', url: '/security/rest-psk', payload: { mode: 'nosec' } })).statusCode).toBe(200);
    expect(await server.security.byPskIdentity('rest-identity')).toBeUndefined();
    const list = await api.inject({ method: 'GET', url: '/security' });
    expect(list.json()).toContainEqual({ endpoint: 'rest-psk', mode: 'nosec' });
    expect((await api.inject({ method: 'DELETE', url: '/security/rest-psk' })).statusCode).toBe(204);
    expect((await api.inject({ method: 'GET', url: '/security/rest-psk' })).statusCode).toBe(404);
    expect((await api.inject({ method: 'DELETE', url: '/security/rest-psk' })).statusCode).toBe(404);
  });

  it('stores an RPK (P-256 SPKI) and an X.509 subject', async () => {
    const spki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const r = await api.inject({ method: 'PUT', url: '/security/rest-rpk', payload: { mode: 'rpk', publicKey: spki } });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({ endpoint: 'rest-rpk', mode: 'rpk', publicKey: spki });
    const x = await api.inject({ method: 'PUT', url: '/security/rest-x509', payload: { mode: 'x509' } });
    expect(x.json()).toEqual({ endpoint: 'rest-x509', mode: 'x509', subject: 'rest-x509', trustAnchor: false });
  });

  it('answers 409 to a PSK identity that belongs to another endpoint', async () => {
    await api.inject({ method: 'PUT', url: '/security/owner', payload: { mode: 'psk', identity: 'taken', key: '00112233' } });
    const r = await api.inject({ method: 'PUT', url: '/security/thief', payload: { mode: 'psk', identity: 'taken', key: '44556677' } });
    expect(r.statusCode).toBe(409);
    expect(r.json()).toMatchObject({ error: 'NON_UNIQUE_SECURITY_INFO', details: { owner: 'owner' } });
    expect((await api.inject({ method: 'GET', url: '/security/thief' })).statusCode).toBe(404);
  });

  it('answers 400 to bad input with the reason', async () => {
    const bad = async (payload: unknown): Promise<string> => {
      const r = await api.inject({ method: 'PUT', url: '/security/bad', payload: payload as Record<string, unknown> });
      expect(r.statusCode).toBe(400);
      return r.json().message as string;
    };
    expect(await bad({ mode: 'psk', identity: 'x' })).toMatch(/needs "key"/);
    expect(await bad({ mode: 'psk', identity: 'x', key: 'xyz' })).toMatch(/key/);
    expect(await bad({ mode: 'psk', identity: 'x', key: 'aa'.repeat(65) })).toMatch(/key/);
    expect(await bad({ mode: 'rpk', publicKey: Buffer.from('not a key').toString('base64') })).toMatch(/SubjectPublicKeyInfo/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    expect(await bad({ mode: 'rpk', publicKey: rsa })).toMatch(/P-256/);
    expect(await bad({ mode: 'magic' })).toMatch(/mode/);
    expect(await bad({ mode: 'nosec', extra: 1 })).toMatch(/additional/);
    expect((await api.inject({ method: 'GET', url: '/security/bad' })).statusCode).toBe(404);
  });

  it('removes a registration whose credentials were removed or replaced', async () => {
    // a device registered over plain CoAP, then the operator requires PSK for it
    const { SimulatedClient } = await import('../../simulators/client/lwm2m-client.ts');
    const { loadProfile } = await import('../../simulators/client/device-profile.ts');
    const c = new SimulatedClient({ endpoint: 'tighten', server: { address: '127.0.0.1', port: server.coapAddress.port }, models: server.models, profile: loadProfile('esp32'), log: logs.log });
    await c.start();
    expect(await server.registrations.byEndpoint('tighten')).toBeDefined();
    await api.inject({ method: 'PUT', url: '/security/tighten', payload: { mode: 'psk', identity: 'tighten-id', key: '0011' } });
    expect(await server.registrations.byEndpoint('tighten')).toBeUndefined();
    await c.stop();
  });
});

describe('tinymlaas security (CLI)', () => {
  it('sets PSK info from a key file, prints it without the key, and deletes it', async () => {
    await api.listen({ host: '127.0.0.1', port: 0 });
    const addr = api.server.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const run = promisify(execFile);
    const cli = async (...args: string[]): Promise<string> => (await run(process.execPath, ['--import', 'tsx', 'src/cli/tinymlaas.ts', '--api', url, ...args], { timeout: 60_000 })).stdout;
    const dir = await mkdtemp(path.join(tmpdir(), 'cli-key-'));
    const keyFile = path.join(dir, 'psk.hex');
    await writeFile(keyFile, `${CLI_KEY.toString('hex')}\n`);
    const set = await cli('security', 'set', 'cli-dev', '--mode', 'psk', '--identity', 'cli-identity', '--key-file', keyFile);
    expect(JSON.parse(set)).toEqual({ endpoint: 'cli-dev', mode: 'psk', identity: 'cli-identity', keyLength: 32 });
    expect((await server.security.get('cli-dev'))).toMatchObject({ key: CLI_KEY.toString('hex') });
    const got = await cli('security', 'get', 'cli-dev');
    for (const k of keySpellings(CLI_KEY)) expect(got.includes(k)).toBe(false);
    expect(JSON.parse(got).identity).toBe('cli-identity');
    expect(await cli('security', 'delete', 'cli-dev')).toMatch(/removed/);
    expect(await server.security.get('cli-dev')).toBeUndefined();
  }, 120_000);
});
