// Object definitions: the common objects ship with the server, more are loaded at run time
// (POST /objects), and a device's object the server has no definition of can still be written
// and created with explicit types.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectModelRegistry, parseDdf } from '../../src/lwm2m/ddf-loader.ts';
import { startOtaHarness, type OtaHarness } from './ota-harness.ts';

let h: OtaHarness;
beforeAll(async () => {
  h = await startOtaHarness();
});
afterAll(async () => h.close());

/** A vendor object, written by hand for this test. */
function ddf(id: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<LWM2M><Object ObjectType="MODefinition"><Name>Vendor ${id}</Name><Description1>test</Description1><ObjectID>${id}</ObjectID>
<ObjectURN>urn:oma:lwm2m:x:${id}</ObjectURN><LWM2MVersion>1.1</LWM2MVersion><ObjectVersion>1.0</ObjectVersion>
<MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory><Resources>
<Item ID="1"><Name>Level</Name><Operations>RW</Operations><MultipleInstances>Single</MultipleInstances><Mandatory>Mandatory</Mandatory><Type>Float</Type><RangeEnumeration></RangeEnumeration><Units></Units><Description>x</Description></Item>
<Item ID="2"><Name>Count</Name><Operations>RW</Operations><MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory><Type>Integer</Type><RangeEnumeration></RangeEnumeration><Units></Units><Description>x</Description></Item>
</Resources></Object></LWM2M>`;
}

describe('object definitions', () => {
  it('ships the common objects (6, 7, 10, 19, 20, 3303, 3304, 3311, 3313, 3347, 3442) with their resource types', async () => {
    const list = (await h.api.inject({ method: 'GET', url: '/objects' })).json() as { id: number }[];
    for (const id of [6, 7, 10, 19, 20, 3303, 3304, 3311, 3313, 3347, 3442]) expect(list.map((o) => o.id)).toContain(id);
    const temp = (await h.api.inject({ method: 'GET', url: '/objects/3303' })).json() as { resources: { id: number; type: string; operations: string; mandatory: boolean }[] };
    expect(temp.resources.find((r) => r.id === 5700)).toMatchObject({ type: 'float', operations: 'R', mandatory: true });
    const loc = (await h.api.inject({ method: 'GET', url: '/objects/6' })).json() as { resources: { id: number; type: string }[] };
    expect(loc.resources.find((r) => r.id === 5)).toMatchObject({ type: 'time' });
  });

  it('POST /objects loads a DDF; a malformed one is 400', async () => {
    const bad = await h.api.inject({ method: 'POST', url: '/objects', headers: { 'content-type': 'application/xml' }, payload: '<LWM2M><Object>' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe('BAD_DDF');
    const up = await h.api.inject({ method: 'POST', url: '/objects', headers: { 'content-type': 'application/xml' }, payload: ddf(33000) });
    expect(up.statusCode).toBe(201);
    expect(up.json()[0]).toMatchObject({ id: 33000, resources: [{ id: 1, type: 'float' }, { id: 2, type: 'integer' }] });
    expect((await h.api.inject({ method: 'GET', url: '/objects/33000' })).statusCode).toBe(200);
  });

  it('writes and creates on an object the server does not know, with explicit types; without them a clear 400', async () => {
    // the device knows object 33100; the server does not
    const deviceModels = new ObjectModelRegistry([...h.platform.server.models.all(), ...parseDdf(ddf(33100))]);
    const c = await h.client('vendor-1', { models: deviceModels, autoUpdate: false });
    c.store.setInstance(33100, 0, { 1: 1.5, 2: 7 });
    await c.update({ withLinks: true });
    const untyped = await h.api.inject({ method: 'PUT', url: '/devices/vendor-1/data/33100/0/1', payload: { value: 21.5 } });
    expect(untyped.statusCode).toBe(400);
    expect(untyped.json().message).toMatch(/give its type/);
    const w = await h.api.inject({ method: 'PUT', url: '/devices/vendor-1/data/33100/0/1', payload: { value: 21.5, type: 'float' } });
    expect(w.json()).toMatchObject({ success: true, code: '2.04' });
    expect(c.store.get([33100, 0, 1])).toBe(21.5);
    const cr = await h.api.inject({ method: 'POST', url: '/devices/vendor-1/data/33100', payload: { id: 1, resources: { 1: { type: 'float', value: -0.25 }, 2: { type: 'integer', value: 3 } } } });
    expect(cr.json()).toMatchObject({ success: true, code: '2.01' });
    expect(c.store.get([33100, 1, 1])).toBe(-0.25);
    expect(c.store.get([33100, 1, 2])).toBe(3);
    // a type that contradicts a definition is refused
    const wrong = await h.api.inject({ method: 'PUT', url: '/devices/vendor-1/data/3/0/14', payload: { value: 1, type: 'integer' } });
    expect(wrong.statusCode).toBe(400);
  });
});
