/**
 * The TOML configuration file: every `otsd run` setting has a key (run-options.ts, RUN_SETTINGS; see
 * deploy/otsd.example.toml), read as its flag reads it. Flags override environment variables, which
 * override the file. Every problem is reported at once, naming the key, the value and what was
 * expected.
 * @module
 */
import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { optionOf, RUN_SETTINGS, type RunSetting } from './run-options.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A key's value as the setting takes it, or what it expects (a string naming it) when it does not. */
type Read = { value: unknown } | { expected: string };

/** What the flag's own parser refuses, refused in the file in its words. */
function parsed(parse: (value: string) => unknown, value: string): Read {
  try {
    return { value: parse(value) };
  } catch (e) {
    return { expected: (e as Error).message.replace(/^expected /, '') };
  }
}

function read(setting: RunSetting, value: unknown): Read {
  const kind = setting.value;
  switch (kind.kind) {
    case 'switch':
      return typeof value === 'boolean' ? { value } : { expected: 'true or false' };
    case 'choice':
      return typeof value === 'string' && kind.choices.includes(value)
        ? { value }
        : { expected: `one of ${kind.choices.join(', ')}` };
    case 'number':
      return typeof value === 'number'
        ? parsed(kind.parse, String(value))
        : { expected: kind.parse.expected };
    case 'text':
      if (typeof value !== 'string' || value.length === 0)
        return { expected: kind.parse?.expected ?? 'a non-empty string' };
      return kind.parse ? parsed(kind.parse, value) : { value };
    case 'list': {
      const list = typeof value === 'string' ? [value] : value;
      return Array.isArray(list) &&
        list.length > 0 &&
        list.every((item) => typeof item === 'string' && kind.isItem(item))
        ? { value: list }
        : { expected: kind.expected };
    }
  }
}

/** Each key's setting and the `otsd run` option it sets. */
export const CONFIG_KEYS: ReadonlyMap<string, { setting: RunSetting; option: string }> = new Map(
  RUN_SETTINGS.map((setting) => [setting.key, { setting, option: optionOf(setting).attributeName() }]),
);

function flatten(table: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(table).flatMap(([key, value]) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)
      ? flatten(value as Record<string, unknown>, `${prefix}${key}.`)
      : [[`${prefix}${key}`, value] as [string, unknown]],
  );
}

/** The option values a config file sets, by option name; ConfigError listing every problem. */
export function loadConfigFile(path: string): Record<string, unknown> {
  let table: Record<string, unknown>;
  try {
    table = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`config ${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, value] of flatten(table)) {
    const known = CONFIG_KEYS.get(key);
    if (!known) {
      problems.push(`${key}: unknown key`);
      continue;
    }
    const result = read(known.setting, value);
    if ('expected' in result)
      problems.push(`${key}: expected ${result.expected}, got ${JSON.stringify(value)}`);
    else values[known.option] = result.value;
  }
  if (problems.length > 0) throw new ConfigError(`config ${path}:\n  ${problems.join('\n  ')}`);
  return values;
}

/** A copy of an RPC URL without its password, for showing the effective configuration. */
export function maskSecret(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    const url = new URL(value);
    if (url.password) url.password = '****';
    return url.toString();
  } catch {
    return '****';
  }
}
