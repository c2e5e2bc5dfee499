// The Device object instance of the LwM2M TS Core §7.4 examples (Read /3/0), as a node and as
// the SenML JSON (§7.4.4) and LwM2M JSON (§7.4.5) text of the specification, minified.
import type { ObjectInstance } from '../../src/lwm2m/node.ts';

export const device: ObjectInstance = {
  kind: 'instance', id: 0, resources: [
    { kind: 'resource', id: 0, type: 'string', value: 'Open Mobile Alliance' },
    { kind: 'resource', id: 1, type: 'string', value: 'Lightweight M2M Client' },
    { kind: 'resource', id: 2, type: 'string', value: '345000123' },
    { kind: 'resource', id: 3, type: 'string', value: '1.0' },
    { kind: 'multiResource', id: 6, type: 'integer', values: { 0: 1, 1: 5 } },
    { kind: 'multiResource', id: 7, type: 'integer', values: { 0: 3800, 1: 5000 } },
    { kind: 'multiResource', id: 8, type: 'integer', values: { 0: 125, 1: 900 } },
    { kind: 'resource', id: 9, type: 'integer', value: 100 },
    { kind: 'resource', id: 10, type: 'integer', value: 15 },
    { kind: 'multiResource', id: 11, type: 'integer', values: { 0: 0 } },
    { kind: 'resource', id: 13, type: 'time', value: 1367491215 },
    { kind: 'resource', id: 14, type: 'string', value: '+02:00' },
    { kind: 'resource', id: 16, type: 'string', value: 'U' },
  ],
};

export const SENML_DEVICE = [
  '[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},',
  '{"n":"1","vs":"Lightweight M2M Client"},',
  '{"n":"2","vs":"345000123"},',
  '{"n":"3","vs":"1.0"},',
  '{"n":"6/0","v":1},',
  '{"n":"6/1","v":5},',
  '{"n":"7/0","v":3800},',
  '{"n":"7/1","v":5000},',
  '{"n":"8/0","v":125},',
  '{"n":"8/1","v":900},',
  '{"n":"9","v":100},',
  '{"n":"10","v":15},',
  '{"n":"11/0","v":0},',
  '{"n":"13","v":1367491215},',
  '{"n":"14","vs":"+02:00"},',
  '{"n":"16","vs":"U"}]',
].join('');

export const LWM2M_JSON_DEVICE = [
  '{"bn":"/3/0/","e":[',
  '{"n":"0","sv":"Open Mobile Alliance"},',
  '{"n":"1","sv":"Lightweight M2M Client"},',
  '{"n":"2","sv":"345000123"},',
  '{"n":"3","sv":"1.0"},',
  '{"n":"6/0","v":1},',
  '{"n":"6/1","v":5},',
  '{"n":"7/0","v":3800},',
  '{"n":"7/1","v":5000},',
  '{"n":"8/0","v":125},',
  '{"n":"8/1","v":900},',
  '{"n":"9","v":100},',
  '{"n":"10","v":15},',
  '{"n":"11/0","v":0},',
  '{"n":"13","v":1367491215},',
  '{"n":"14","sv":"+02:00"},',
  '{"n":"16","sv":"U"}]}',
].join('');
