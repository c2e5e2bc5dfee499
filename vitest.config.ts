import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/fast-check.ts'],
    globalSetup: ['test/setup/temp-dir.ts'],
    // generous: every test waits for events, so the limit only bounds a hung test; 30 s cut tests that
    // start server processes one after another on a machine busy with other work (issue 10)
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // vitest's default on a 2-core machine is one worker: the suite then ran file after file (942 s);
    // two workers finish it in ~635 s, and every test waits for events, not for time (issue 10)
    maxWorkers: 2,
    // onnxruntime-node 1.30 writes telemetry to ~/.cache/Microsoft and /tmp/mat-debug-*.log unless told not to
    env: { ORT_DISABLE_TELEMETRY: '1' },
  },
});
