import { Option, type Command } from 'commander';
import { TollgateError, type RegistryClientOptions } from '@tollgate/core';

export interface RegistryFlags {
  creds?: string;
  registryUsername?: string;
  registryPassword?: string;
  authfile?: string;
  allowInsecureRegistry?: boolean;
  registryRedirectHost?: string[];
}

/** Registry access flags, with cosign's and skopeo's names so neither group of users needs new habits. */
export function addRegistryOptions(command: Command): Command {
  return command
    .addOption(new Option('--creds <user:password>', 'registry credentials (skopeo style); default: from the docker config').env('TOLLGATE_CREDS'))
    .option('--registry-username <name>', 'registry user name (cosign style)')
    .addOption(new Option('--registry-password <password>', 'registry password (cosign style)').env('TOLLGATE_REGISTRY_PASSWORD'))
    .option('--authfile <path>', 'docker config file with credentials (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json)')
    .option('--allow-insecure-registry', 'allow plain HTTP to registries that are not on loopback', false)
    .addOption(
      new Option('--registry-redirect-host <host>', 'a host (host, host:port or *.domain) a registry may redirect blob downloads or name a token realm on even when it is not on a public address, e.g. internal object storage; repeatable (env: comma-separated)')
        .env('TOLLGATE_REGISTRY_REDIRECT_HOSTS')
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter((v) => v !== '')]),
    );
}

export function registryOptionsFrom(flags: RegistryFlags): RegistryClientOptions {
  const options: RegistryClientOptions = {
    allowInsecure: flags.allowInsecureRegistry === true,
    // Refusals of a redirect name the flag to set, not the library's option.
    redirectHostsSetting: '--registry-redirect-host (or TOLLGATE_REGISTRY_REDIRECT_HOSTS)',
  };
  if (flags.registryRedirectHost !== undefined && flags.registryRedirectHost.length > 0) options.redirectHosts = flags.registryRedirectHost;
  if (flags.authfile) options.dockerConfigPath = flags.authfile;
  if (flags.creds !== undefined) {
    const colon = flags.creds.indexOf(':');
    if (colon <= 0) throw new TollgateError('USAGE', '--creds must be "user:password"; the user name cannot be empty');
    options.credentials = { username: flags.creds.slice(0, colon), password: flags.creds.slice(colon + 1) };
  } else if (flags.registryUsername !== undefined || flags.registryPassword !== undefined) {
    if (!flags.registryUsername || flags.registryPassword === undefined) {
      throw new TollgateError('USAGE', '--registry-username and --registry-password go together; give both');
    }
    options.credentials = { username: flags.registryUsername, password: flags.registryPassword };
  }
  return options;
}
