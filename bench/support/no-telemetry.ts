// Imported first by benchmarks that load onnxruntime-node: its 1.30 build writes telemetry to
// ~/.cache/Microsoft and /tmp/mat-debug-*.log unless this is set before the library starts.
process.env.ORT_DISABLE_TELEMETRY = '1';
