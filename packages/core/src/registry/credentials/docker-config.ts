import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TollgateError } from '../../errors/tollgate-error.js';
import { runCredentialHelper } from './credential-helper.js';
import { helperServerUrl, normaliseServerKey, registryKey } from './server-key.js';
import type { RegistryCredentials } from './types.js';

const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function defaultDockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG && env.DOCKER_CONFIG !== '' ? env.DOCKER_CONFIG : join(homedir(), '.docker');
  return join(dir, 'config.json');
}

interface AuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
}

interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, unknown>;
  credsStore?: unknown;
}

async function readConfig(path: string): Promise<DockerConfig | undefined> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new TollgateError('CREDENTIALS', `cannot read docker config ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}); check its permissions`);
  }
  if (size > MAX_CONFIG_BYTES) {
    throw new TollgateError('CREDENTIALS', `docker config ${path} is larger than 4 MiB; it is not a docker config`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw new TollgateError('CREDENTIALS', `docker config ${path} is not valid JSON; fix or remove it`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new TollgateError('CREDENTIALS', `docker config ${path} is not a JSON object; fix or remove it`);
  }
  return doc as DockerConfig;
}

function entryCredentials(entry: AuthEntry, path: string, key: string): RegistryCredentials | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') return { identityToken: entry.identitytoken };
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) {
      throw new TollgateError('CREDENTIALS', `the "auth" entry for ${key} in ${path} is not base64 of "user:password"; run docker login again`);
    }
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string' && entry.username !== '') {
    return { username: entry.username, password: entry.password };
  }
  return undefined;
}

/**
 * Credentials for a registry from a docker config file, as the docker CLI finds them: a per-registry credential
 * helper (`credHelpers`), else the default store (`credsStore`), else the `auths` entry (base64 `auth`,
 * `identitytoken`). Keys in any spelling (`https://index.docker.io/v1/`, `host:port`, URLs) match.
 */
export async function credentialsFromDockerConfig(registry: string, path = defaultDockerConfigPath()): Promise<RegistryCredentials | undefined> {
  const config = await readConfig(path);
  if (config === undefined) return undefined;
  const wanted = registryKey(registry);
  const helpers = typeof config.credHelpers === 'object' && config.credHelpers !== null ? config.credHelpers : {};
  let helper: string | undefined;
  for (const [key, value] of Object.entries(helpers)) {
    if (normaliseServerKey(key) === wanted && typeof value === 'string' && value !== '') helper = value;
  }
  if (helper === undefined && typeof config.credsStore === 'string' && config.credsStore !== '') helper = config.credsStore;
  if (helper !== undefined) {
    const fromHelper = await runCredentialHelper(helper, helperServerUrl(registry));
    if (fromHelper !== undefined) return fromHelper;
  }
  const auths = typeof config.auths === 'object' && config.auths !== null ? config.auths : {};
  for (const [key, entry] of Object.entries(auths)) {
    if (normaliseServerKey(key) !== wanted) continue;
    const found = entryCredentials(entry, path, key);
    if (found !== undefined) return found;
  }
  return undefined;
}
