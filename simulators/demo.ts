// The README's demo: a small fleet registers with the embedded server and keeps reporting
// (battery drains, signal varies, values go out with Send) so a newcomer sees live devices.
import type { Logger } from 'pino';
import { startFleet } from './fleet.ts';

export type DemoOptions = { server: string; count: number; log: Logger; apiUrl: string };

export async function startDemo(o: DemoOptions): Promise<() => Promise<void>> {
  const fleet = await startFleet({ server: o.server, count: o.count, log: o.log, prefix: 'esp32-demo-', lifetime: 60 });
  o.log.info({ devices: fleet.clients.filter((c) => c.registered).length, try: `${o.apiUrl}/devices`, events: `${o.apiUrl}/events` }, 'demo fleet registered');
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    for (const c of fleet.clients) {
      if (!c.registered) continue;
      const battery = Math.max(5, 100 - ((tick + c.endpoint.length) % 95));
      c.store.set([3, 0, 9], battery);
      c.store.set([4, 0, 2], -50 - Math.floor(Math.random() * 40));
      if (tick % 3 === 0) c.send([[3, 0, 9], [4, 0, 2]]).catch(() => undefined);
    }
  }, 5000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await Promise.all(fleet.clients.map((c) => c.deregister().catch(() => undefined)));
    await fleet.stop();
  };
}
