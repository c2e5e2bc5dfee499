// The device-management and information-reporting operations a server sends to a device
// (LwM2M 1.1 TS Core §6.3 and §6.4), as plain data.
import type { ContentFormat } from '../lwm2m/content-format.ts';
import type { LwM2mNode, LwM2mRecord } from '../lwm2m/node.ts';
import type { LwM2mPath } from '../lwm2m/path.ts';

/** Notification attributes (Core §5.1.2 / §7.3.x): numbers set, null removes. */
export type NotificationAttributes = Partial<Record<'pmin' | 'pmax' | 'gt' | 'lt' | 'st' | 'epmin' | 'epmax', number | null>>;

/**
 * How long to wait for the device's answer (the CoAP exchange with its retransmissions); the
 * server's default (--request-timeout) when absent. An update flow bounds every call by its own
 * step limit with it, the API by ?timeout=.
 */
export type RequestLimits = { timeoutMs?: number };

export type DownlinkRequest = (
  | { kind: 'read'; path: LwM2mPath; format?: ContentFormat }
  | { kind: 'discover'; path: LwM2mPath }
  | { kind: 'write'; path: LwM2mPath; node: LwM2mNode; mode: 'replace' | 'update'; format?: ContentFormat }
  | { kind: 'writeAttributes'; path: LwM2mPath; attributes: NotificationAttributes }
  | { kind: 'execute'; path: LwM2mPath; args?: string }
  | { kind: 'create'; path: LwM2mPath; node: LwM2mNode; format?: ContentFormat }
  | { kind: 'delete'; path: LwM2mPath }
  | { kind: 'compositeRead'; paths: LwM2mPath[]; format?: ContentFormat }
  /** Observe and Cancel Observation travel like the others so that a sleeping device's wait in its queue (Core §6.5) */
  /** reestablish false: the opener (an update flow) re-observes after a new registration itself */
  | { kind: 'observe'; path: LwM2mPath; format?: ContentFormat; reestablish?: false }
  | { kind: 'cancelObservation'; observationId: string }
) & RequestLimits;

export type DiscoveredLink = { uri: string; attributes: Readonly<Record<string, string | true>> };

export type DownlinkResult = {
  /** the device's CoAP response code, as "2.05" */
  readonly code: string;
  readonly success: boolean;
  readonly node?: LwM2mNode;
  readonly records?: LwM2mRecord[];
  readonly links?: DiscoveredLink[];
  /** Create: where the new instance lives (Location-Path) */
  readonly location?: string;
  readonly contentFormat?: number;
  /** diagnostic payload of an error response */
  readonly message?: string;
  /** Observe: the observation it established */
  readonly observationId?: string;
};

export type RequestErrorCode = 'DEVICE_NOT_FOUND' | 'DEVICE_TIMEOUT' | 'DEVICE_RESET' | 'BAD_REQUEST' | 'BAD_RESPONSE' | 'UNSUPPORTED'
  /** the node serving the device (several nodes sharing Redis) does not answer */
  | 'NODE_UNAVAILABLE'
  /** a per-device bound (requests under way, requests queued for a sleeping device) is reached */
  | 'TOO_MANY_REQUESTS';

export class RequestError extends Error {
  constructor(readonly code: RequestErrorCode, message: string, readonly details?: unknown) {
    super(message);
  }
}
