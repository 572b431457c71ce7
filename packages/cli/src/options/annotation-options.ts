import type { Command } from 'commander';
import { TollgateError } from '@tollgate/core';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `-a, --annotations key=value`, repeatable, as cosign. */
export function addAnnotationOption(command: Command, description: string): Command {
  return command.option('-a, --annotations <key=value>', description, collect, []);
}

export function annotationsFrom(values: string[] | undefined): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new TollgateError('USAGE', `annotation ${JSON.stringify(value.slice(0, 100))} must be key=value with a non-empty key`);
    const key = value.slice(0, eq);
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') throw new TollgateError('USAGE', `annotation key ${key} is not allowed`);
    out[key] = value.slice(eq + 1);
  }
  return out;
}
