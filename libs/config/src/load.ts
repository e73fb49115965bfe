import { ValidationError } from '@konstruct/core';
import type { z } from 'zod';
import { type Config, type SectionName, sections } from './config.ts';

/** Raised at start-up when any setting is missing or invalid; its message names every one of them. */
export class ConfigError extends ValidationError {
  /** One entry per bad variable: its name and what was wrong. */
  readonly problems: readonly { variable: string; problem: string }[];

  constructor(problems: { variable: string; problem: string }[]) {
    const lines = problems.map((p) => `  ${p.variable}: ${p.problem}`);
    super(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
      {
        details: { problems },
      },
    );
    this.problems = problems;
  }
}

/**
 * Parses the settings of the given sections (and always `core`) out of `env`, reporting every missing or
 * invalid variable in one {@link ConfigError}, and returns them frozen. Empty strings count as unset, so a
 * blank line in `.env` falls back to the default instead of failing a number parse.
 *
 * This is the only place in Konstruct that reads the environment; composition roots pass `process.env`.
 */
export function loadConfig<S extends SectionName>(
  env: Record<string, string | undefined>,
  wanted: readonly S[],
): Config<S> {
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const names = new Set<SectionName>(['core', ...wanted]);
  const problems: { variable: string; problem: string }[] = [];
  const result: Record<string, unknown> = {};
  for (const name of names) {
    const schema = sections[name] as z.ZodObject;
    const parsed = schema.safeParse(cleaned);
    if (parsed.success) {
      Object.assign(result, parsed.data);
      continue;
    }
    for (const issue of parsed.error.issues) {
      const variable = String(issue.path[0] ?? name);
      const missing = cleaned[variable] === undefined;
      problems.push({ variable, problem: missing ? 'is required but not set' : issue.message });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(result) as Config<S>;
}
