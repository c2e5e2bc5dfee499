import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/fast-check.ts'],
    globalSetup: ['test/setup/temp-dir.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // vitest's default on a 2-core machine is one worker: the suite then ran file after file (942 s);
    // two workers finish it in ~635 s, and every test waits for events, not for time (issue 10)
    maxWorkers: 2,
    // onnxruntime-node 1.30 writes telemetry to ~/.cache/Microsoft and /tmp/mat-debug-*.log unless told not to
    env: { ORT_DISABLE_TELEMETRY: '1' },
  },
});
