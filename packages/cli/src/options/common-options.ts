import type { Command } from 'commander';
import { parsePlatform, type Platform } from '@tollgate/core';

export function addPlatformOption(command: Command): Command {
  return command.option('--platform <os/arch[/variant]>', 'platform to pick from a multi-platform image (default: this machine\'s)');
}

export function addJsonOption(command: Command): Command {
  return command.option('--json', 'print machine-readable JSON on stdout', false);
}

export function addDataOption(command: Command): Command {
  return command.option('--data <dir>', 'data directory for the embedded store (default: $TOLLGATE_DATA or the platform data dir)');
}

export function platformFrom(value: string | undefined): Platform | undefined {
  return value === undefined ? undefined : parsePlatform(value);
}
