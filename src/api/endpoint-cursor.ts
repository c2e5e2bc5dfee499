// A paging cursor over endpoint names: the last endpoint read, opaque to the client (base64url of
// its UTF-8). GET /devices and GET /deployments/:id/devices page alike.
export function encodeCursor(endpoint: string): string {
  return Buffer.from(endpoint, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

/** JSON Schema of a cursor query parameter. */
export const cursorSchema = { type: 'string', maxLength: 400, pattern: '^[A-Za-z0-9_-]*$' } as const;
