// The API's error edge: every failure becomes { error, message, details } with the right status.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { PathError } from '../lwm2m/path.ts';
import { RequestError, type RequestErrorCode } from '../request/downlink-request.ts';
import { StoreUnavailableError } from '../store/store-error.ts';
import { NodeJsonError } from './node-json.ts';

export class ApiError extends Error {
  constructor(readonly status: number, readonly error: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

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

export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof RequestError) return new ApiError(REQUEST_STATUS[e.code], e.code, e.message, e.details);
  if (e instanceof PathError) return new ApiError(400, 'BAD_PATH', e.message);
  if (e instanceof NodeJsonError) return new ApiError(400, 'BAD_VALUE', e.message);
  if (e instanceof StoreUnavailableError) return new ApiError(503, e.code, e.message);
  const fe = e as FastifyError;
  if (fe && fe.validation) return new ApiError(400, 'VALIDATION', fe.message, fe.validation);
  if (fe && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new ApiError(fe.statusCode, fe.code ?? 'BAD_REQUEST', fe.message);
  }
  return new ApiError(500, 'INTERNAL', 'internal error');
}

/** An error message is echoed to the client: never the whole offending value (issue 14). */
export const MAX_ERROR_MESSAGE = 300;

export function boundedMessage(message: string): string {
  return message.length <= MAX_ERROR_MESSAGE ? message : `${message.slice(0, MAX_ERROR_MESSAGE)}… (${message.length} characters)`;
}

export function errorHandler(e: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const err = toApiError(e);
  if (err.status >= 500 && err.error === 'INTERNAL') req.log.error({ err: e }, 'unhandled API error');
  // RFC 9110 §10.2.3: a 503 (store away, too many streams) and a 429 say when to come back
  if (err.status === 503 || err.status === 429) {
    const after = (err.details as { retryAfterS?: unknown } | undefined)?.retryAfterS;
    void reply.header('retry-after', String(typeof after === 'number' ? after : 5));
  }
  void reply.status(err.status).send({ error: err.error, message: boundedMessage(err.message), details: err.details ?? null });
}

export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' }, details: {} },
  required: ['error', 'message'],
} as const;
