export { type Config, type SectionName, sections } from './config.ts';
export { durationMs, parseDuration } from './duration.ts';
export { ConfigError, loadConfig } from './load.ts';
