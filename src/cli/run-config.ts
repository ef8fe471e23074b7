/** `otsd run`'s --config file: applied under the flags at start, read again on SIGHUP, shown by --show-config. */
import type { Command } from 'commander';
import { CliError } from './cli-error.js';
import { CONFIG_KEYS, loadConfigFile, maskSecret } from './config-file.js';
import type { RunOptions } from './run-options.js';

/**
 * The settings as they would be now: the file read again under the flags given at start (flags still
 * win over the file; environment variables do not change in a running process).
 */
export function reloadSettings(command: Command, started: RunOptions): RunOptions {
  const fromFile = started.config ? loadConfigFileOrFail(started.config) : {};
  const current = { ...started } as Record<string, unknown>;
  for (const [option, value] of Object.entries(fromFile)) {
    const source = command.getOptionValueSource(option);
    if (source === 'config' || source === 'default' || source === undefined) current[option] = value;
  }
  return current as unknown as RunOptions;
}

function loadConfigFileOrFail(path: string): Record<string, unknown> {
  try {
    return loadConfigFile(path);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** Fills every option still at its default from the --config file; returns the resulting options. */
export function applyConfigFile(command: Command): RunOptions {
  const path = command.getOptionValue('config') as string | undefined;
  if (path) {
    const values = loadConfigFileOrFail(path);
    for (const [option, value] of Object.entries(values)) {
      const source = command.getOptionValueSource(option);
      if (source === undefined || source === 'default')
        command.setOptionValueWithSource(option, value, 'config');
    }
  }
  return command.opts() as RunOptions;
}

/** The effective configuration as TOML-ish `key = value` lines, with the node's credentials masked. */
export function showConfig(options: RunOptions): string {
  const byOption = new Map(
    [...CONFIG_KEYS].map(([key, { setting, option }]) => [option, { key, secret: setting.secret }]),
  );
  return Object.entries(options)
    .filter(([option]) => byOption.has(option))
    .map(([option, value]) => {
      const { key, secret } = byOption.get(option) as { key: string; secret?: boolean };
      const shown = secret ? maskSecret(value) : value;
      const rendered =
        typeof shown === 'object' && shown !== null && !Array.isArray(shown)
          ? `"${(shown as { host: string }).host}:${(shown as { port: number }).port}"`
          : JSON.stringify(shown);
      return `${key} = ${rendered}`;
    })
    .sort()
    .join('\n');
}
