// Routing by URL hash (#/devices/esp32-1): every path without a hash belongs to the API, so the
// dashboard never shadows one of its routes.
import { ref } from 'vue';

export type Route =
  | { view: 'fleet' }
  | { view: 'device'; endpoint: string }
  | { view: 'models' }
  | { view: 'deployments'; id?: string }
  | { view: 'ml' };

export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  switch (parts[0]) {
    case 'devices': return parts[1] ? { view: 'device', endpoint: parts[1] } : { view: 'fleet' };
    case 'models': return { view: 'models' };
    case 'deployments': return parts[1] ? { view: 'deployments', id: parts[1] } : { view: 'deployments' };
    case 'ml': return { view: 'ml' };
    default: return { view: 'fleet' };
  }
}

export const route = ref<Route>(parseHash(location.hash));
window.addEventListener('hashchange', () => (route.value = parseHash(location.hash)));

export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}
