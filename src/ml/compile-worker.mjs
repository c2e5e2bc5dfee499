// Worker entry: plain JS, because a worker thread does not inherit tsx's loader (Node 20);
// it registers tsx itself and then runs the TypeScript job.
import { register } from 'tsx/esm/api';

register();
await import('./compile-job.ts');
