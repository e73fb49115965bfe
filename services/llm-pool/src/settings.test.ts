import { ConfigError, loadConfig } from '@konstruct/config';
import { describe, expect, it } from 'vitest';
import { loadPoolSettings } from './settings.ts';

const settingsFrom = (env: Record<string, string>) => loadPoolSettings(loadConfig(env, ['llm']));

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.variable}: ${p.problem}`);
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('LLM_GROUPS', () => {
  it('empty means one group "fast" on the local Ollama model', () => {
    const settings = settingsFrom({ OLLAMA_BASE_URL: 'http://ollama:11434/', OLLAMA_MODEL: 'qwen2.5:7b' });
    expect([...settings.groups]).toEqual([['fast', [{ provider: 'ollama', model: 'qwen2.5:7b' }]]]);
    expect(settings.providers.get('ollama')).toEqual({
      name: 'ollama',
      kind: 'ollama',
      baseUrl: 'http://ollama:11434',
      timeoutMs: 60_000,
    });
  });

  it('reads providers and ordered groups, with a per-provider timeout overriding LLM_PROVIDER_TIMEOUT', () => {
    const settings = settingsFrom({
      LLM_PROVIDER_TIMEOUT: '20s',
      LLM_GROUPS: JSON.stringify({
        providers: {
          'ollama-local': { kind: 'ollama', baseUrl: 'http://127.0.0.1:11434' },
          'openai-backup': {
            kind: 'openai',
            baseUrl: 'https://api.openai.com/v1',
            apiKey: 'sk-x',
            timeout: '5s',
          },
        },
        groups: {
          fast: [
            { provider: 'ollama-local', model: 'llama3.2:3b' },
            { provider: 'openai-backup', model: 'gpt-4o-mini' },
          ],
          quality: [{ provider: 'openai-backup', model: 'gpt-4o' }],
        },
      }),
    });
    expect(settings.groups.get('fast')?.map((c) => c.provider)).toEqual(['ollama-local', 'openai-backup']);
    expect(settings.providers.get('ollama-local')?.timeoutMs).toBe(20_000);
    expect(settings.providers.get('openai-backup')).toMatchObject({ apiKey: 'sk-x', timeoutMs: 5_000 });
  });

  it('names a syntax error as such', () => {
    expect(problemsOf(() => settingsFrom({ LLM_GROUPS: '{providers:' }))[0]).toMatch(
      /^LLM_GROUPS: is not valid JSON/,
    );
  });

  it('names every bad field by its path, and a group choice naming an unknown provider', () => {
    expect(
      problemsOf(() =>
        settingsFrom({
          LLM_GROUPS: JSON.stringify({
            providers: { local: { kind: 'llamafile', baseUrl: 'http://x' } },
            groups: { fast: [] },
          }),
        }),
      ),
    ).toEqual([
      expect.stringMatching(/^LLM_GROUPS: providers\.local\.kind: /),
      'LLM_GROUPS: groups.fast: a group needs at least one choice',
    ]);
    expect(
      problemsOf(() =>
        settingsFrom({
          LLM_GROUPS: JSON.stringify({
            providers: { local: { kind: 'ollama', baseUrl: 'http://127.0.0.1:11434' } },
            groups: { fast: [{ provider: 'remote', model: 'm' }] },
          }),
        }),
      ),
    ).toEqual(['LLM_GROUPS: groups.fast.0.provider: unknown provider "remote" (known: local)']);
  });
});
