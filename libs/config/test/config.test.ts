import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, parseDuration, sections } from '@konstruct/config';
import { describe, expect, it } from 'vitest';

const KEY = Buffer.alloc(32, 7).toString('base64');

describe('loadConfig', () => {
  it('applies the documented defaults and returns a frozen object', () => {
    const config = loadConfig({ CREDENTIALS_KEY: KEY }, ['nats', 'database', 'routing']);
    expect(config).toMatchObject({
      NATS_URL: 'nats://127.0.0.1:4222',
      NATS_STREAM: 'KONSTRUCT',
      NATS_DUPLICATE_WINDOW: 24 * 3_600_000,
      RATE_LIMIT_MESSAGES: 30,
      RATE_LIMIT_WINDOW: 60_000,
      ENGAGED_THREAD_TTL: 1_800_000,
      LOG_LEVEL: 'info',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every missing or invalid variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ GATEWAY_PORT: 'eighty', NATS_DUPLICATE_WINDOW: 'forever', WHATSAPP_VERIFY_TOKEN: 'v' }, [
        'nats',
        'database',
        'gateway',
      ]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = Object.fromEntries((error as ConfigError).problems.map((p) => [p.variable, p.problem]));
    expect(Object.keys(problems).sort()).toEqual([
      'CREDENTIALS_KEY',
      'GATEWAY_PORT',
      'NATS_DUPLICATE_WINDOW',
      'SLACK_SIGNING_SECRET',
      'WHATSAPP_APP_SECRET',
    ]);
    expect(problems.CREDENTIALS_KEY).toBe('is required but not set');
    expect(problems.NATS_DUPLICATE_WINDOW).toMatch(/expected a duration like .* got "forever"/);
    expect((error as Error).message).toMatch(/^invalid configuration \(5 problems\):\n {2}/);
    for (const name of Object.keys(problems)) expect((error as Error).message).toContain(name);
  });

  it('treats an empty value as unset, so a blank line in .env falls back to the default', () => {
    const config = loadConfig({ CREDENTIALS_KEY: KEY, DATABASE_POOL_MAX: '' }, ['database']);
    expect(config.DATABASE_POOL_MAX).toBe(10);
  });

  it('only demands the sections a service asks for', () => {
    expect(() => loadConfig({}, ['nats', 'redis', 'routing'])).not.toThrow();
  });

  it('refuses a credentials key that is not 32 bytes', () => {
    expect(() => loadConfig({ CREDENTIALS_KEY: Buffer.alloc(16).toString('base64') }, ['database'])).toThrow(
      /CREDENTIALS_KEY: must be 32 bytes/,
    );
  });
});

describe('durations', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['2d', 172_800_000],
    ['1500', 1_500],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'soon', '5 minutes', '-1s'])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('.env.example', () => {
  const example = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
  const documented = new Map(
    example
      .split('\n')
      .map((line) => /^([A-Z0-9_]+)=(\S*)/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );

  it('documents every variable the config reads, and nothing else', () => {
    const known = Object.values(sections).flatMap((s) => Object.keys(s.shape));
    expect([...documented.keys()].sort()).toEqual([...known].sort());
  });

  it('documents each default as the config applies it', () => {
    const env = Object.fromEntries(documented);
    env.CREDENTIALS_KEY = KEY;
    env.SLACK_SIGNING_SECRET = 's';
    env.WHATSAPP_APP_SECRET = 's';
    env.WHATSAPP_VERIFY_TOKEN = 's';
    const fromExample = loadConfig(env, Object.keys(sections) as (keyof typeof sections)[]);
    const required = {
      CREDENTIALS_KEY: KEY,
      SLACK_SIGNING_SECRET: 's',
      WHATSAPP_APP_SECRET: 's',
      WHATSAPP_VERIFY_TOKEN: 's',
    };
    const fromDefaults = loadConfig(required, Object.keys(sections) as (keyof typeof sections)[]);
    expect(fromExample).toEqual(fromDefaults);
  });
});
