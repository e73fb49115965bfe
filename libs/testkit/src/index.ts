export { createTestBus, TEST_NATS_URL, type TestBus } from './bus.ts';
export { createTestDatabase, type TestDatabase } from './database.ts';
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
  FIXTURE_IDS,
  fixture,
  fixtureText,
  slackSignatureHeaders,
  whatsappSignatureHeaders,
} from './fixtures.ts';
export { captureLogs, randomPrefix } from './misc.ts';
