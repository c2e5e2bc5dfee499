// Reads a server-sent event stream into a string, in the background, until closed.
export type SseReader = { text: () => string; close: () => void };

export async function openSse(url: string): Promise<SseReader> {
  const ctl = new AbortController();
  const res = await fetch(url, { signal: ctl.signal });
  let text = '';
  const reader = res.body!.getReader();
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        text += Buffer.from(value).toString('utf8');
      }
    } catch {
      // aborted
    }
  })();
  return { text: () => text, close: () => ctl.abort() };
}
