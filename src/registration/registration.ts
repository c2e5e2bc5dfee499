// A device's registration (LwM2M 1.1 TS Core §6.2.1, Transport §6.2): who it is, where it is,
// what it offers. Plain data, stored as is by every store implementation.
import type { Peer } from '../coap/transport.ts';

export type LinkAttributes = Readonly<Record<string, string | true>>;

/** One entry of the registration payload (RFC 6690 link), path relative to the root path. */
export type ObjectLinkEntry = {
  readonly path: readonly number[];
  readonly attributes: LinkAttributes;
};

export type Registration = {
  readonly id: string;
  readonly endpoint: string;
  readonly lwm2mVersion: string;
  /** seconds */
  readonly lifetime: number;
  /** U, UQ, S, SQ, US, UQS (1.0) or U, N, S, T with Q separate (1.1) */
  readonly binding: string;
  readonly queueMode: boolean;
  readonly smsNumber?: string;
  /** alternate root path from `</lwm2m>;rt="oma.lwm2m"`, '' when none (Core §6.2.1.1) */
  readonly rootPath: string;
  readonly objectLinks: readonly ObjectLinkEntry[];
  /** content formats the client declared with ct= on the root link */
  readonly contentFormats: readonly number[];
  /** object id -> version declared with ver= (absent means the version of the registered LwM2M release) */
  readonly objectVersions: Readonly<Record<number, string>>;
  readonly address: Peer;
  readonly registeredAt: number;
  readonly lastUpdate: number;
  /** ms since the epoch */
  readonly expiresAt: number;
  /** unknown query parameters, kept for the API */
  readonly additional: Readonly<Record<string, string>>;
  /**
   * The server node the device talks to (several nodes sharing a Redis store): requests to the
   * device go out from that node's socket. Absent on a single node.
   */
  readonly node?: string;
};

/** True when the client listed the object (with or without instances). */
export function hasObject(reg: Registration, objectId: number): boolean {
  return reg.objectLinks.some((l) => l.path[0] === objectId);
}

/** Instance ids the client listed for an object. */
export function instancesOf(reg: Registration, objectId: number): number[] {
  return reg.objectLinks.filter((l) => l.path[0] === objectId && l.path.length === 2).map((l) => l.path[1]!);
}
