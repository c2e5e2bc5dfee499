// How a device's answer looks on the northbound interfaces (REST API, MQTT command replies).
// Device errors (4.04 from the device) are answers, not failures: success=false and the CoAP code,
// as Leshan's REST API does.
import { formatPath } from '../lwm2m/path.ts';
import type { DownlinkResult } from '../request/downlink-request.ts';
import { nodeToJson, recordValueToJson } from './node-json.ts';

export function resultToJson(r: DownlinkResult): Record<string, unknown> {
  return {
    code: r.code,
    success: r.success,
    contentFormat: r.contentFormat ?? null,
    ...(r.node ? { node: nodeToJson(r.node) } : {}),
    ...(r.records ? { records: r.records.map((x) => ({ path: formatPath(x.path), ...recordValueToJson(x.value), ...(x.time !== undefined ? { time: x.time } : {}) })) } : {}),
    ...(r.links ? { links: r.links } : {}),
    ...(r.location ? { location: r.location } : {}),
    ...(r.message ? { message: r.message } : {}),
    ...(r.observationId ? { observationId: r.observationId } : {}),
  };
}


export const resultSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    code: { type: 'string', description: 'CoAP response code of the device, e.g. "2.05"' },
    success: { type: 'boolean' },
    contentFormat: { type: ['integer', 'null'] },
    node: { type: 'object', additionalProperties: true },
    records: { type: 'array', items: { type: 'object', additionalProperties: true } },
    links: { type: 'array', items: { type: 'object', additionalProperties: true } },
    location: { type: 'string' },
    message: { type: 'string' },
    queued: { type: 'boolean' },
    requestId: { type: 'string' },
    status: { type: 'string' },
    poll: { type: 'string' },
  },
} as const;
