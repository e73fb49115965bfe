export { type Bus, type ConnectBusOptions, connectBus } from './connect.ts';
export {
  type ConsumerRunnerOptions,
  type EventHandler,
  type HandlerContext,
  REDRIVE_CONSUMER_HEADER,
  type RunningConsumer,
  type Settlement,
  settleFailure,
  startConsumer,
} from './consumer.ts';
export { type DeadLetterContext, deadLetterAndTerm, writeDeadLetter } from './deadletter.ts';
export { type ConsumerDefinition, consumerDefinitions } from './definitions.ts';
export { createPipelinedPublisher, type PipelinedPublisher } from './pipelined.ts';
export {
  createPublisher,
  type Publisher,
  type PublishOptions,
  type PublishResult,
  subjectFor,
} from './publish.ts';
export {
  consumerConfig,
  ensureConsumer,
  ensureStreams,
  isApiError,
  type StreamOptions,
  streamConfigs,
} from './streams.ts';
