// A process that writes a deployment to a JSON-file deployment store until it is killed (the
// crash/restart test in deployment-store.test.ts): it creates ROWS pending rows, then marks them
// done in batches, and prints on stdout what each awaited write made durable ("created N",
// "done N"), so the test knows what must be there after a kill -9.
import { JsonDeploymentStore } from '../../src/store/json-deployment-store.ts';
import type { Deployment, DeviceRollout } from '../../src/ota/deployment.ts';
import { defaultPolicy } from '../../src/ota/deployment.ts';

const [file, rowsArg] = process.argv.slice(2);
const ROWS = Number(rowsArg);
const BATCH = 100;
const store = await JsonDeploymentStore.open(file!);
const header: Deployment = {
  id: 'crash', moduleDigest: 'a'.repeat(64), method: 'sota-push', selector: { prefix: 'w-' }, policy: defaultPolicy,
  status: 'running', createdAt: Date.now(), counts: {}, total: 0,
};
const rows: DeviceRollout[] = Array.from({ length: ROWS }, (_, i) => ({ endpoint: `w-${String(i).padStart(6, '0')}`, state: 'pending', attempts: 0 }));
for (let i = 0; i < ROWS; i += BATCH) {
  header.total = Math.min(ROWS, i + BATCH);
  header.counts = { pending: header.total };
  await store.write(header, rows.slice(i, i + BATCH));
}
process.stdout.write(`created ${ROWS}\n`);
// then forever: rows done a batch at a time, each announced once written
for (let round = 0; ; round++) {
  for (let i = 0; i < ROWS; i += BATCH) {
    const batch = rows.slice(i, i + BATCH).map((r) => ({ ...r, state: 'done' as const, attempts: round + 1 }));
    header.counts = { done: i + batch.length, pending: ROWS - i - batch.length };
    await store.write(header, batch);
    process.stdout.write(`done ${round} ${i + batch.length}\n`);
  }
}
