import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DdfError, ObjectModelRegistry, loadObjectModels, parseDdf } from '../../src/lwm2m/ddf-loader.ts';

const OBJECTS_DIR = join(import.meta.dirname, '../../objects');

describe('DDF loader over objects/', () => {
  const files = readdirSync(OBJECTS_DIR).filter((f) => f.endsWith('.xml'));

  it('finds the standard objects', () => {
    const ids = loadObjectModels(OBJECTS_DIR).all().map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining([0, 1, 2, 3, 4, 5, 9]));
  });

  for (const file of files) {
    it(`parses ${file}: id matches the file name, resources are well formed`, () => {
      const models = parseDdf(readFileSync(join(OBJECTS_DIR, file), 'utf8'), file);
      expect(models).toHaveLength(1);
      const m = models[0]!;
      expect(String(m.id)).toBe(file.split('-')[0]);
      expect(m.name.length).toBeGreaterThan(0);
      expect(m.resources.size).toBeGreaterThan(0);
      for (const r of m.resources.values()) {
        expect(r.name.length).toBeGreaterThan(0);
        if (r.operations === 'E') expect(r.type).toBe('none');
        if (r.type === 'none') expect(r.operations).toBe('E');
      }
    });
  }

  it('maps the Device object faithfully', () => {
    const reg = loadObjectModels(OBJECTS_DIR);
    const dev = reg.object(3)!;
    expect(dev).toMatchObject({ id: 3, name: 'Device', version: '1.1', multiple: false, mandatory: true });
    expect(reg.resource(3, 0)).toMatchObject({ name: 'Manufacturer', operations: 'R', type: 'string', multiple: false, mandatory: false });
    expect(reg.resource(3, 4)).toMatchObject({ name: 'Reboot', operations: 'E', type: 'none', mandatory: true });
    expect(reg.resource(3, 6)).toMatchObject({ type: 'integer', multiple: true, rangeEnumeration: '0..7' });
    expect(reg.resource(3, 9)).toMatchObject({ units: '%', rangeEnumeration: '0..100' });
    expect(reg.resource(3, 13)?.type).toBe('time');
    expect(reg.resource(3, 22)).toMatchObject({ type: 'objlnk', multiple: true });
    expect(reg.resource(0, 0)?.operations).toBe('NONE');
    expect(reg.resource(0, 3)?.type).toBe('opaque');
    expect(reg.resource(1, 11)?.type).toBe('unsigned');
    expect(reg.resource(5, 0)).toMatchObject({ type: 'opaque', operations: 'W' });
    expect(reg.resource(5, 4)).toBeUndefined(); // removed in Firmware Update 1.1
    expect(reg.resource(9, 12)?.type).toBe('boolean');
    expect(reg.resource(3, 99)).toBeUndefined();
    expect(reg.object(42)).toBeUndefined();
  });
});

const ITEM = (id: string, type: string) => `<Item ID="${id}"><Name>R${id}</Name><Operations>RW</Operations>
  <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory><Type>${type}</Type>
  <RangeEnumeration></RangeEnumeration><Units></Units><Description><![CDATA[x & <y>]]></Description></Item>`;
const OBJ = (id: string, items: string) => `<Object ObjectType="MODefinition"><Name>O${id}</Name>
  <ObjectID>${id}</ObjectID><MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory>
  <Resources>${items}</Resources></Object>`;

describe('parseDdf', () => {
  it('reads several objects from one file and maps every type', () => {
    const types = ['String', 'Integer', 'Unsigned Integer', 'Float', 'Boolean', 'Opaque', 'Time', 'Objlnk', 'Corelnk'];
    const xml = `<?xml version="1.0"?><LWM2M>${OBJ('10', types.map((t, i) => ITEM(String(i), t)).join(''))}${OBJ('11', ITEM('0', 'String'))}</LWM2M>`;
    const models = parseDdf(xml);
    expect(models.map((m) => m.id)).toEqual([10, 11]);
    expect([...models[0]!.resources.values()].map((r) => r.type)).toEqual(
      ['string', 'integer', 'unsigned', 'float', 'boolean', 'opaque', 'time', 'objlnk', 'corelnk']);
    expect(models[0]!.version).toBe('1.0');
    expect(models[0]!.resources.get(0)!.description).toBe('x & <y>');
  });

  it.each([
    ['malformed XML', '<LWM2M><Object>', /malformed XML/],
    ['no root', '<Foo/>', /no <LWM2M>/],
    ['no object', '<LWM2M></LWM2M>', /no <Object>/],
    ['missing object id', `<LWM2M>${OBJ('', '')}</LWM2M>`, /ObjectID "" is missing/],
    ['missing resource id', `<LWM2M>${OBJ('7', ITEM('', 'String'))}</LWM2M>`, /resource ID "" is missing/],
    ['unknown type', `<LWM2M>${OBJ('7', ITEM('1', 'Decimal'))}</LWM2M>`, /unknown type "decimal"/],
    ['duplicate resource', `<LWM2M>${OBJ('7', ITEM('1', 'String') + ITEM('1', 'String'))}</LWM2M>`, /defined twice/],
  ])('rejects %s with DdfError naming the source', (_name, xml, message) => {
    expect(() => parseDdf(xml, 'bad.xml')).toThrow(DdfError);
    expect(() => parseDdf(xml, 'bad.xml')).toThrow(message);
    expect(() => parseDdf(xml, 'bad.xml')).toThrow(/^bad\.xml: /);
  });

  it('tolerates a byte order mark', () => {
    expect(parseDdf(`\uFEFF<?xml version="1.0"?><LWM2M>${OBJ('12', ITEM('0', 'String'))}</LWM2M>`)[0]!.id).toBe(12);
  });

  it('registry adds and replaces models', () => {
    const reg = new ObjectModelRegistry();
    const [a] = parseDdf(`<LWM2M>${OBJ('7', ITEM('1', 'String'))}</LWM2M>`);
    const [b] = parseDdf(`<LWM2M>${OBJ('7', ITEM('1', 'Integer'))}</LWM2M>`);
    reg.add(a!);
    expect(reg.resource(7, 1)?.type).toBe('string');
    reg.add(b!);
    expect(reg.resource(7, 1)?.type).toBe('integer');
    expect(reg.all()).toHaveLength(1);
  });
});
