// How a server event looks on the northbound interfaces: the SSE stream and MQTT.
import type { ServerEvent } from '../events/server-event.ts';
import { formatPath } from '../lwm2m/path.ts';
import { nodeToJson, recordValueToJson } from './node-json.ts';
import { registrationToJson } from './registration-json.ts';

export function eventEndpoint(e: ServerEvent): string | undefined {
  if ('registration' in e) return e.registration.endpoint;
  return 'endpoint' in e ? e.endpoint : undefined;
}

export function eventToJson(e: ServerEvent): Record<string, unknown> {
  switch (e.type) {
    case 'registration':
      return { type: e.type, endpoint: e.registration.endpoint, registration: registrationToJson(e.registration), replaced: e.replaced !== undefined };
    case 'update':
      return { type: e.type, endpoint: e.registration.endpoint, registration: registrationToJson(e.registration) };
    case 'deregistration':
      return { type: e.type, endpoint: e.registration.endpoint, registrationId: e.registration.id, reason: e.reason };
    case 'notification':
      return {
        type: e.type, endpoint: e.endpoint, observationId: e.observationId, path: e.path, contentFormat: e.contentFormat ?? null,
        time: new Date(e.time).toISOString(),
        ...(e.node ? { node: nodeToJson(e.node) } : {}),
        ...(e.records ? { records: e.records.map((r) => ({ path: formatPath(r.path), ...recordValueToJson(r.value), time: r.time ?? null })) } : {}),
      };
    case 'send':
      return { type: e.type, endpoint: e.endpoint, time: new Date(e.time).toISOString(), records: e.records.map((r) => ({ path: formatPath(r.path), ...recordValueToJson(r.value), time: r.time ?? null })) };
    case 'overload':
      return { type: e.type, limit: e.limit, active: e.active, detail: e.detail, time: new Date(e.time).toISOString() };
    case 'model-health':
      return { ...e, time: new Date(e.time).toISOString() };
    default:
      return { ...e };
  }
}
