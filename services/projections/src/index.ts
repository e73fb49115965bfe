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
  finishRebuild,
  groupByTenant,
  type PreparedBatch,
  type ProjectionResult,
  type ProjectOptions,
  prepareProjection,
  projectEvents,
  projectTenantEvents,
  usageByAgent,
  type WriteOptions,
  writePrepared,
} from './project.ts';
export type { WriteCounts } from './store.ts';
