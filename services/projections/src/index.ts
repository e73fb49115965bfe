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
  groupByTenant,
  type PreparedBatch,
  type ProjectOptions,
  prepareProjection,
} from './prepare.ts';
export {
  type AgentUsage,
  clearProjections,
  finishRebuild,
  type ProjectionResult,
  projectEvents,
  projectTenantEvents,
  usageByAgent,
  type WriteOptions,
  writePrepared,
} from './project.ts';
export type { WriteCounts } from './serialize.ts';
