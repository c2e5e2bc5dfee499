// The dashboard's one way to the API: fetch with the session's token, errors as ApiFailure with the
// server's { error, message }. A 401 asks the operator for a token (kept in sessionStorage, so it
// goes with the tab); the API itself is unchanged by the dashboard.
import { reactive } from 'vue';
import type { paths } from './schema.ts';

const TOKEN_KEY = 'tinymlaas.token';

export const auth = reactive({ token: sessionStorage.getItem(TOKEN_KEY) ?? '', needed: false, message: '' });

export function setToken(token: string): void {
  auth.token = token.trim();
  auth.needed = false;
  auth.message = '';
  sessionStorage.setItem(TOKEN_KEY, auth.token);
  for (const f of retryOnToken.splice(0)) f();
}

/** what to run again once a token is given (the event stream, the view's first load) */
const retryOnToken: (() => void)[] = [];
export function onToken(f: () => void): void {
  retryOnToken.push(f);
}

export class ApiFailure extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export function authHeaders(): Record<string, string> {
  return auth.token ? { authorization: `Bearer ${auth.token}` } : {};
}

export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = authHeaders();
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(url, { method, headers, body: payload });
  if (res.status === 401) {
    auth.needed = true;
    auth.message = auth.token ? 'The token was refused: give another one.' : 'The API needs a token.';
    throw new ApiFailure(401, 'UNAUTHENTICATED', auth.message);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const json: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const e = (json ?? {}) as { error?: string; message?: string };
    throw new ApiFailure(res.status, e.error ?? 'HTTP_ERROR', e.message ?? `HTTP ${res.status}`);
  }
  return json as T;
}

export function errorText(e: unknown): string {
  return e instanceof ApiFailure ? `${e.code}: ${e.message}` : (e as Error).message;
}

// ---- types from the server's OpenAPI document (schema.ts, generated) ----
type JsonOf<R> = R extends { content: { 'application/json': infer T } } ? T : never;
type Ok<Op> = Op extends { responses: infer R } ? (R extends { 200: infer A } ? JsonOf<A> : R extends { 201: infer B } ? JsonOf<B> : never) : never;

export type DevicePage = Ok<paths['/devices']['get']>;
export type Device = Ok<paths['/devices/{endpoint}']['get']>;
export type DeviceQuery = NonNullable<paths['/devices']['get']['parameters']['query']>;
export type DeviceResult = Ok<paths['/devices/{endpoint}/data/{*}']['get']>;
export type Observation = Ok<paths['/devices/{endpoint}/observations']['get']>[number];
export type ModelJson = Ok<paths['/models/{id}']['get']>;
export type Target = paths['/models/{id}/compile']['post']['requestBody']['content']['application/json']['target'];
export type DeploymentRequest = paths['/deployments']['post']['requestBody']['content']['application/json'];
export type FleetSummary = Ok<paths['/fleet/summary']['get']>;

/** the targets the compiler knows (the compile route's enum) */
export const TARGETS: readonly Target[] = ['esp32', 'esp32-s3', 'nrf52840', 'stm32f746', 'arduino-nano-33-ble-sense', 'gap8'];
export const METHODS: readonly DeploymentRequest['method'][] = ['sota-pull', 'sota-push', 'fota-pull', 'fota-push'];
