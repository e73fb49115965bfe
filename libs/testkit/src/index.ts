export { createTestBus, TEST_NATS_URL, type TestBus } from './bus.ts';
export { createTestDatabase, type TestDatabase } from './database.ts';
export {
  type FakeGraph,
  type FakeGraphCall,
  type FakeGraphFailure,
  type FakeGraphMessage,
  type FakeGraphOptions,
  startFakeGraph,
} from './fake-graph.ts';
export {
  type FakeChatMessage,
  type FakeOllama,
  type FakeOllamaOptions,
  type FakeOllamaRequest,
  fakeTokenCount,
  startFakeOllama,
} from './fake-ollama.ts';
export {
  type FakeOpenAi,
  type FakeOpenAiOptions,
  type FakeOpenAiRequest,
  startFakeOpenAi,
} from './fake-openai.ts';
export {
  type FakeSlack,
  type FakeSlackCall,
  type FakeSlackEphemeral,
  type FakeSlackFailure,
  type FakeSlackMessage,
  type FakeSlackOptions,
  startFakeSlack,
} from './fake-slack.ts';
export {
  FIXTURE_IDS,
  fixture,
  fixtureText,
  slackSignatureHeaders,
  whatsappSignatureHeaders,
} from './fixtures.ts';
export { type JourneyParts, journeyEvents, receipt } from './journeys.ts';
export { captureLogs, randomPrefix } from './misc.ts';
export {
  SERVICES,
  type ServiceName,
  type ServiceProcess,
  type Stack,
  type StackOptions,
  startStack,
} from './stack.ts';
export { ACME, dumpLogs, GLOBEX, newTs, type System, slackFixture, startSystem } from './system.ts';
export { createFixtureSlackTenant } from './tenants.ts';
