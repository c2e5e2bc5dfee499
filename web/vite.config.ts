// The dashboard's build (npm install runs it: the prepare script). Everything it loads is served
// by the server itself (no CDN, no web font): the bundle lands in web/dist, never committed.
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // the first page (the fleet) and the charts each in their own chunk: the first load stays small
    chunkSizeWarningLimit: 400,
    reportCompressedSize: false,
    // the install must stay quiet: no plugin-timing report from a loaded machine
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
});
