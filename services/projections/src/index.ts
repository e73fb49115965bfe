export {
  type ProjectionConsumerOptions,
  type RunningProjections,
  startProjectionConsumer,
} from './consumer.ts';
export {
  type BatchPlan,
  type Merge,
  mergeReceipt,
  mergeRow,
  PROJECTION_NAMES,
  type ProjectionName,
  planBatch,
} from './plan.ts';
export {
  type AgentUsage,
  clearProjections,
  groupByTenant,
  type ProjectionResult,
  type ProjectOptions,
  projectEvents,
  projectTenantEvents,
  usageByAgent,
} from './project.ts';
export type { WriteCounts } from './store.ts';
