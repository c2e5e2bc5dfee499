export { computeLifetimes, overlapInTime, type Lifetime, type PlannerOp } from './lifetimes.ts';
export { planGreedy } from './greedy-planner.ts';
export { planNaive } from './naive-planner.ts';
export { planViolations } from './verify-plan.ts';
export { alignUp, DEFAULT_ALIGNMENT, type MemoryPlan } from './memory-plan.ts';
