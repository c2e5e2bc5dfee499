// Every property-based test runs from a fixed seed, so a red run is repeatable and never random.
// fast-check prints the seed and the counterexample's path on failure; FC_SEED=<n> replays another.
// endOnFailure stops at the first counterexample instead of shrinking it, which once took 220 s
// and wrote megabytes of log: the failing value is reported as found.
import fc from 'fast-check';

const seed = Number(process.env.FC_SEED ?? 20261129);
if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer, got ${process.env.FC_SEED}`);
fc.configureGlobal({ seed, endOnFailure: true });
