export { createTestBus, TEST_NATS_URL, type TestBus } from './bus.ts';
export { createTestDatabase, type TestDatabase } from './database.ts';
export {
  FIXTURE_IDS,
  fixture,
  fixtureText,
  slackSignatureHeaders,
  whatsappSignatureHeaders,
} from './fixtures.ts';
export { captureLogs, randomPrefix } from './misc.ts';
