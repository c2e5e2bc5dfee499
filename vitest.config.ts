import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/fast-check.ts'],
    globalSetup: ['test/setup/temp-dir.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // onnxruntime-node 1.30 writes telemetry to ~/.cache/Microsoft and /tmp/mat-debug-*.log unless told not to
    env: { ORT_DISABLE_TELEMETRY: '1' },
  },
});
