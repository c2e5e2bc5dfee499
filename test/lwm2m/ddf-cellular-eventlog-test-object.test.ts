// Objects 10 (LwM2M Cellular Connectivity 1.1), 20 (Event Log 2.1) and 3442 (LwM2M v1.1 Test
// Object) as shipped in objects/. The expected ids, names, types, operations and multiplicity are
// copied by hand from the OMNA LwM2M registry files (10.xml v1.1, version_history/20-2_1.xml,
// 3442.xml), not from our own files, so a slip in ours fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadObjectModels, parseDdf } from '../../src/lwm2m/ddf-loader.ts';

const OBJECTS_DIR = join(import.meta.dirname, '../../objects');
const registry = loadObjectModels(OBJECTS_DIR);

type Row = [id: number, name: string, operations: string, multiple: boolean, mandatory: boolean, type: string];

function expectRows(objectId: number, rows: readonly Row[]): void {
  for (const [id, name, operations, multiple, mandatory, type] of rows) {
    expect(registry.resource(objectId, id), `/${objectId}//${id}`).toMatchObject({ id, name, operations, multiple, mandatory, type });
  }
}

describe('Object 10, LwM2M Cellular Connectivity (OMA ObjLwM2M_Cell_Conn 1.1)', () => {
  it('is a single, optional object of version 1.1', () => {
    expect(registry.object(10)).toMatchObject({ id: 10, name: 'LWM2M Cellular Connectivity', version: '1.1', multiple: false, mandatory: false, urn: 'urn:oma:lwm2m:oma:10:1.1' });
  });

  it('has the resources of the specification', () => {
    expectRows(10, [
      [0, 'SMSC address', 'RW', false, false, 'string'],
      [1, 'Disable radio period', 'RW', false, false, 'integer'],
      [3, 'Vendor specific extensions', 'R', false, false, 'objlnk'],
      [4, 'PSM Timer', 'RW', false, false, 'integer'],
      [9, 'eDRX parameters for NB-S1 mode', 'RW', false, false, 'opaque'],
      [11, 'Activated Profile Names', 'R', true, true, 'objlnk'],
      [12, 'Supported Power Saving Modes', 'R', false, false, 'unsigned'],
      [14, 'Release Assistance Indication Usage', 'RW', false, false, 'unsigned'],
    ]);
    expect(registry.resource(10, 1)?.rangeEnumeration).toBe('0..65535');
    expect(registry.resource(10, 4)?.units).toBe('s');
    expect(registry.resource(10, 5)?.units).toBe('s');
    // resource 6 (Serving PLMN Rate control) moved to Object 11 in version 1.1
    expect(registry.resource(10, 6)).toBeUndefined();
    expect([...registry.object(10)!.resources.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14]);
  });
});

describe('Object 20, Event Log (OMA LwM2M_EventLog 2.1)', () => {
  it('is a multiple, optional object of version 2.1', () => {
    expect(registry.object(20)).toMatchObject({ id: 20, name: 'Event Log', version: '2.1', multiple: true, mandatory: false });
  });

  it('has the reusable logging resources 4010..4017', () => {
    expectRows(20, [
      [4010, 'LogClass', 'RW', false, false, 'integer'],
      [4011, 'LogStart', 'E', false, false, 'none'],
      [4012, 'LogStop', 'E', false, false, 'none'],
      [4013, 'LogStatus', 'R', false, false, 'integer'],
      [4014, 'LogData', 'R', false, true, 'opaque'],
      [4015, 'LogDataFormat', 'RW', false, false, 'integer'],
      // no operations: only a Send may carry it, the DM interface answers Method Not Allowed
      [4016, 'LogDataIncremental', 'NONE', false, false, 'opaque'],
      [4017, 'LogDataIncrementalMinimumSendInterval', 'RW', false, false, 'unsigned'],
    ]);
    expect(registry.object(20)!.resources.size).toBe(8);
  });
});

describe('Object 3442, LwM2M v1.1 Test Object', () => {
  it('is a multiple, optional object for LwM2M 1.1', () => {
    expect(registry.object(3442)).toMatchObject({ id: 3442, name: 'LwM2M v1.1 Test Object', version: '1.0', lwm2mVersion: '1.1', multiple: true, mandatory: false });
  });

  it('has an executable, a single and a multiple resource for each data type', () => {
    expectRows(3442, [
      [0, 'Reset values', 'E', false, false, 'none'],
      [3, 'Exec With Arguments', 'E', false, false, 'none'],
      [4, 'Arguments List', 'R', true, false, 'string'],
      [110, 'String Value', 'RW', false, false, 'string'],
      [120, 'Integer Value', 'RW', false, false, 'integer'],
      [125, 'Unsigned Integer Value', 'RW', false, false, 'unsigned'],
      [130, 'Float Value', 'RW', false, false, 'float'],
      [140, 'Boolean Value', 'RW', false, false, 'boolean'],
      [150, 'Opaque Value', 'RW', false, false, 'opaque'],
      [160, 'Time Value', 'RW', false, false, 'time'],
      [170, 'ObjLink Value', 'RW', false, false, 'objlnk'],
      [180, 'CoreLnk Value', 'RW', false, false, 'corelnk'],
      [1130, 'Multiple Float Value', 'RW', true, false, 'float'],
      [1180, 'Multiple CoreLnk Value', 'RW', true, false, 'corelnk'],
    ]);
    expect(registry.object(3442)!.resources.size).toBe(23);
  });
});

describe('the three files', () => {
  it.each([
    ['10-cellular-connectivity.xml', 10],
    ['20-event-log.xml', 20],
    ['3442-lwm2m-test-object.xml', 3442],
  ])('%s holds exactly object %i', (file, id) => {
    const models = parseDdf(readFileSync(join(OBJECTS_DIR, file), 'utf8'), file);
    expect(models.map((m) => m.id)).toEqual([id]);
  });
});
