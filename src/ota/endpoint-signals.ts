// The server's events and observation changes, handed to the update flows of one endpoint only.
// A flow follows one device; with 2,000 devices updated at once, a listener per flow on the whole
// event bus made every event (each notification, registration and deployment progress) visit
// thousands of listeners that wanted none of it: O(devices in flight) per event. One listener per
// server feeds a map by endpoint instead, so an event costs a lookup and its own endpoint's flows.
import type { ServerEvent } from '../events/server-event.ts';
import type { Observation, ObservationChange } from '../observation/observation-service.ts';
import type { LwM2mServer } from '../server.ts';

/** Listeners by endpoint; the whole thing subscribes once, on first use. */
class EndpointFanout<A extends unknown[]> {
  private readonly byEndpoint = new Map<string, Set<(...args: A) => void>>();

  add(endpoint: string, listener: (...args: A) => void): () => void {
    let set = this.byEndpoint.get(endpoint);
    if (!set) this.byEndpoint.set(endpoint, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.byEndpoint.get(endpoint) === set) this.byEndpoint.delete(endpoint);
    };
  }

  dispatch(endpoint: string | undefined, ...args: A): void {
    if (endpoint === undefined) return;
    const set = this.byEndpoint.get(endpoint);
    if (!set) return;
    for (const l of set) {
      try {
        l(...args);
      } catch {
        // as on the event bus: one failing listener must not stop the others
      }
    }
  }
}

type Signals = { events: EndpointFanout<[ServerEvent]>; changes: EndpointFanout<Parameters<ObservationChange>> };

const byServer = new WeakMap<LwM2mServer, Signals>();

/** The device an event is about, when it is about one. */
function endpointOf(e: ServerEvent): string | undefined {
  switch (e.type) {
    case 'registration': case 'update': case 'deregistration': return e.registration.endpoint;
    case 'notification': case 'request': case 'awake': case 'sleeping': case 'send': return e.endpoint;
    case 'deployment': return e.endpoint;
    default: return undefined;
  }
}

function signalsOf(server: LwM2mServer): Signals {
  let s = byServer.get(server);
  if (!s) {
    const signals: Signals = { events: new EndpointFanout(), changes: new EndpointFanout() };
    server.events.on((e) => signals.events.dispatch(endpointOf(e), e));
    server.observations.onChange((change, obs: Observation) => signals.changes.dispatch(obs.endpoint, change, obs));
    byServer.set(server, (s = signals));
  }
  return s;
}

/** Server events about `endpoint` (its registrations, notifications, queued requests). Returns the unsubscribe. */
export function onEndpointEvent(server: LwM2mServer, endpoint: string, listener: (e: ServerEvent) => void): () => void {
  return signalsOf(server).events.add(endpoint, listener);
}

/** Observations of `endpoint` established or ended. Returns the unsubscribe. */
export function onEndpointObservationChange(server: LwM2mServer, endpoint: string, listener: ObservationChange): () => void {
  return signalsOf(server).changes.add(endpoint, listener);
}
