import { hardlinkHeadersOf, possibleModes } from '../filesystem/inode.js';
import type { MergedEntry } from '../filesystem/merged-filesystem.js';
import type { FileAttribute, SecurityFlag } from './types.js';
import { picomatchLibrary } from '../util/picomatch-library.js';

/** Places where a new or changed file changes who can do what: accounts, sudo, ssh keys, cron, the loader. */
export const SENSITIVE_PATHS: readonly string[] = [
  'etc/passwd',
  'etc/shadow',
  'etc/group',
  'etc/gshadow',
  'etc/sudoers',
  'etc/sudoers.d/**',
  'etc/sudoers*',
  'root/.ssh/**',
  'home/*/.ssh/**',
  'etc/ssh/sshd_config',
  'etc/ssh/sshd_config.d/**',
  'etc/crontab',
  'etc/cron.*/**',
  'etc/cron.*',
  'var/spool/cron/**',
  'etc/ld.so.preload',
  'etc/ld.so.conf',
  'etc/ld.so.conf.d/**',
  'etc/pam.d/**',
  'etc/security/**',
  'etc/profile',
  'etc/profile.d/**',
  'etc/environment',
];

/** Private keys by name. Certificates (`*.pem`, `*.crt`) are public and are not flagged. */
export const PRIVATE_KEY_NAMES: readonly string[] = [
  '**/id_rsa',
  '**/id_dsa',
  '**/id_ecdsa',
  '**/id_ed25519',
  '**/id_ecdsa_sk',
  '**/id_ed25519_sk',
  '**/ssh_host_*_key',
  '**/*.key',
  '**/*.p12',
  '**/*.pfx',
  '**/*.jks',
  '**/*.keystore',
  '**/*-key.pem',
  '**/*_key.pem',
  '**/*.key.pem',
  '**/privkey*.pem',
  '**/private/*.pem',
];

/** Files that usually hold credentials, by name. */
export const CREDENTIAL_FILE_NAMES: readonly string[] = [
  '**/.netrc',
  '**/.pgpass',
  '**/.git-credentials',
  '**/.npmrc',
  '**/.pypirc',
  '**/.docker/config.json',
  '**/.aws/credentials',
  '**/.kube/config',
  '**/.vault-token',
  '**/.htpasswd',
  '**/.env',
  '**/credentials.json',
  '**/service-account*.json',
  '**/.boto',
  '**/.s3cfg',
];

const GLOB_OPTIONS = { dot: true };
type Matcher = (path: string) => boolean;
let matchers: { isSensitive: Matcher; isPrivateKey: Matcher; isCredentialFile: Matcher } | undefined;

/** Compiled on the first diff, not when the module loads: most commands never flag a file. */
function flagMatchers(): NonNullable<typeof matchers> {
  if (!matchers) {
    const picomatch = picomatchLibrary();
    matchers = {
      isSensitive: picomatch(SENSITIVE_PATHS as string[], GLOB_OPTIONS),
      isPrivateKey: picomatch(PRIVATE_KEY_NAMES as string[], GLOB_OPTIONS),
      isCredentialFile: picomatch(CREDENTIAL_FILE_NAMES as string[], GLOB_OPTIONS),
    };
  }
  return matchers;
}

/** A symlink target that, resolved lexically from the link's directory, climbs above the root. */
export function symlinkEscapesRoot(path: string, target: string): boolean {
  if (target.startsWith('/')) {
    // Absolute targets are resolved inside the container's root by runtimes; only '..' past '/' escapes a chroot-less resolver.
    let depth = 0;
    for (const part of target.split('/')) {
      if (part === '' || part === '.') continue;
      depth += part === '..' ? -1 : 1;
      if (depth < 0) return true;
    }
    return false;
  }
  let depth = path.split('/').length - 1;
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    depth += part === '..' ? -1 : 1;
    if (depth < 0) return true;
  }
  return false;
}

/**
 * Security flags for a path that was added (before undefined) or modified. Removed paths carry no flags.
 * `changed` lists what differs for a modification.
 */
export function fileFlags(path: string, before: MergedEntry | undefined, after: MergedEntry, changed: readonly FileAttribute[]): SecurityFlag[] {
  const flags: SecurityFlag[] = [];
  const isLinkish = after.type === 'symlink';
  if (!isLinkish) {
    // A file may have its own header's metadata or a differing hardlink header's (extractors disagree): what any of
    // them grants counts, and counts as added unless A's file could already have it.
    const may = (e: MergedEntry | undefined, has: (mode: number) => boolean): boolean => e !== undefined && e.type !== 'symlink' && possibleModes(e).some(has);
    const setuid = (mode: number): boolean => (mode & 0o4000) !== 0;
    const setgid = (mode: number): boolean => (mode & 0o2000) !== 0;
    if (may(after, setuid) && !may(before, setuid)) flags.push('setuid-added');
    if (may(after, setgid) && !may(before, setgid)) flags.push('setgid-added');
    const worldWritable = (e: MergedEntry | undefined): boolean => may(e, (mode) => (mode & 0o002) !== 0 && !(e!.type === 'dir' && (mode & 0o1000) !== 0));
    if (worldWritable(after) && !worldWritable(before)) flags.push('world-writable');
    const beforeCaps = before === undefined || before.type === 'symlink' ? [] : capabilities(before);
    if (capabilities(after).some((value) => !beforeCaps.includes(value))) flags.push('file-capabilities');
  }
  const { isSensitive, isPrivateKey, isCredentialFile } = flagMatchers();
  const meaningful = before === undefined || changed.some((c) => c !== 'mtime');
  if (meaningful && isSensitive(path)) flags.push('sensitive-path');
  const contentNew = before === undefined || changed.includes('content') || changed.includes('type');
  if (contentNew && after.type !== 'dir' && isPrivateKey(path)) flags.push('private-key');
  if (contentNew && after.type !== 'dir' && isCredentialFile(path)) flags.push('credential-file');
  if (after.type === 'symlink' && after.linkTarget !== undefined && (before === undefined || changed.includes('linkTarget') || changed.includes('type'))) {
    if (symlinkEscapesRoot(path, after.linkTarget)) flags.push('link-escapes-root');
  }
  return flags;
}

/** The `security.capability` values a file may carry: its own, and those its differing hardlink headers set. */
function capabilities(entry: MergedEntry): string[] {
  const caps = 'security.capability';
  return [entry.xattrs?.[caps], ...hardlinkHeadersOf(entry).map((h) => h.xattrs?.[caps])].filter((v): v is string => v !== undefined);
}

/** True for a config User that runs as root: empty (the default), 'root', '0', or with group, 'root:…' / '0:…'. */
export function isRootUser(user: string | undefined): boolean {
  const name = (user ?? '').trim().split(':')[0]!;
  return name === '' || name === 'root' || name === '0';
}
