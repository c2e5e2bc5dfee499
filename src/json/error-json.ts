// The errors of the LwM2M layers as the northbound interfaces report them: a code the caller can
// act on, a message, and the HTTP status the REST API answers with (MQTT replies carry the code).
import { PathError } from '../lwm2m/path.ts';
import { RequestError, type RequestErrorCode } from '../request/downlink-request.ts';
import { StoreUnavailableError } from '../store/store-error.ts';
import { NodeJsonError } from './node-json.ts';

export type ErrorJson = { status: number; error: string; message: string; details?: unknown };

const REQUEST_STATUS: Record<RequestErrorCode, number> = {
  DEVICE_NOT_FOUND: 404,
  DEVICE_TIMEOUT: 504,
  DEVICE_RESET: 502,
  BAD_REQUEST: 400,
  BAD_RESPONSE: 502,
  UNSUPPORTED: 400,
  NODE_UNAVAILABLE: 503,
  TOO_MANY_REQUESTS: 429,
};

/** The known errors of the layers below the interfaces; undefined for anything else. */
export function errorToJson(e: unknown): ErrorJson | undefined {
  if (e instanceof RequestError) return { status: REQUEST_STATUS[e.code], error: e.code, message: e.message, details: e.details };
  if (e instanceof PathError) return { status: 400, error: 'BAD_PATH', message: e.message };
  if (e instanceof NodeJsonError) return { status: 400, error: 'BAD_VALUE', message: e.message };
  if (e instanceof StoreUnavailableError) return { status: 503, error: e.code, message: e.message };
  return undefined;
}
