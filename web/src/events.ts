// One event stream (GET /events) for the whole page, read with fetch so that it carries the token
// (EventSource cannot send an Authorization header); views subscribe to it. Reconnects on its own.
import { ref } from 'vue';
import { auth, authHeaders, onToken } from './api/client.ts';

export type ServerEvent = { type: string; endpoint?: string; [k: string]: unknown };
type Listener = (e: ServerEvent) => void;

const listeners = new Set<Listener>();
export const streamState = ref<'connecting' | 'live' | 'down'>('connecting');
let started = false;

export function subscribe(l: Listener): () => void {
  listeners.add(l);
  if (!started) {
    started = true;
    void run();
  }
  return () => listeners.delete(l);
}

async function run(): Promise<void> {
  for (;;) {
    streamState.value = 'connecting';
    try {
      const res = await fetch('/events', { headers: { ...authHeaders(), accept: 'text/event-stream' } });
      if (res.status === 401) {
        auth.needed = true;
        streamState.value = 'down';
        await new Promise<void>((r) => onToken(r));
        continue;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      streamState.value = 'live';
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const frame = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const data = frame.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).join('\n');
          if (!data) continue;
          const event = JSON.parse(data) as ServerEvent;
          for (const l of listeners) l(event);
        }
      }
    } catch {
      // the server restarted or the network went: try again below
    }
    streamState.value = 'down';
    await new Promise((r) => setTimeout(r, 2000));
  }
}
