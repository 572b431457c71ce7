import { TollgateError } from '../errors/tollgate-error.js';
import type { Platform } from '../image/types.js';

export { hostPlatform } from './host.js';

const COMPONENT = /^[a-z0-9_.-]+$/;
const MAX_PLATFORM_TEXT = 256;

/**
 * Parses `os/arch[/variant]` (e.g. `linux/arm64/v8`), lowercased. Architecture aliases that tools print
 * (`x86_64`, `aarch64`, `i386`, `armhf`, `armel`) are folded into their OCI names, as containerd does; the
 * variant is kept as written.
 */
export function parsePlatform(text: string): Platform {
  const fail = (why: string): never => {
    const shown = JSON.stringify(typeof text === 'string' && text.length > 80 ? `${text.slice(0, 80)}…` : text);
    throw new TollgateError('INVALID_PLATFORM', `invalid platform ${shown}: ${why}; expected os/arch[/variant] such as linux/amd64 or linux/arm64/v8`);
  };
  if (typeof text !== 'string') fail('not a string');
  if (text.length > MAX_PLATFORM_TEXT) fail(`longer than ${MAX_PLATFORM_TEXT} characters`);
  const parts = text.toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3) fail(`has ${parts.length} part${parts.length === 1 ? '' : 's'} separated by "/"`);
  for (const part of parts) {
    if (part === '') fail('has an empty part');
    if (!COMPONENT.test(part)) fail(`part ${JSON.stringify(part.slice(0, 40))} may hold only letters, digits, "_", "." and "-"`);
  }
  const [os, arch, variant] = parts as [string, string, string | undefined];
  const alias = ARCH_ALIASES[arch];
  const platform: Platform = { os, architecture: alias?.architecture ?? arch };
  const v = alias?.variant ?? variant;
  if (v !== undefined) platform.variant = v;
  return platform;
}

/** `os/arch[/variant]`. */
export function formatPlatform(platform: Platform): string {
  return `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`;
}

const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: 'amd64' },
  'x86-64': { architecture: 'amd64' },
  aarch64: { architecture: 'arm64' },
  i386: { architecture: '386' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' },
};

/**
 * The canonical form of a platform, following containerd's `platforms.Normalize`: lowercase, architecture aliases
 * folded, and default variants made explicit or dropped the way containerd does — `arm64` ≡ `arm64/v8` (canonical
 * without variant), `amd64` ≡ `amd64/v1` (without), `arm` ≡ `arm/v7` (with), `arm/7` ≡ `arm/v7`.
 */
export function normalizePlatform(platform: Platform): Platform {
  const os = platform.os.toLowerCase() === 'macos' ? 'darwin' : platform.os.toLowerCase();
  let architecture = platform.architecture.toLowerCase();
  let variant = (platform.variant ?? '').toLowerCase();
  const alias = ARCH_ALIASES[architecture];
  if (alias) {
    architecture = alias.architecture;
    if (alias.variant !== undefined) variant = alias.variant;
  }
  switch (architecture) {
    case '386':
      variant = '';
      break;
    case 'amd64':
      if (variant === 'v1') variant = '';
      break;
    case 'arm64':
      if (variant === '8' || variant === 'v8' || variant === 'v8.0') variant = '';
      else if (variant === '9' || variant === '9.0' || variant === 'v9.0') variant = 'v9';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (variant === '5' || variant === '6' || variant === '8') variant = `v${variant}`;
      break;
  }
  const out: Platform = { os, architecture };
  if (variant !== '') out.variant = variant;
  if (platform['os.version'] !== undefined) out['os.version'] = platform['os.version'];
  return out;
}

/**
 * Whether `candidate` is exactly the platform `wanted` asks for, after normalisation (containerd's
 * `platforms.OnlyStrict`): `linux/arm64` matches `linux/arm64/v8`, `linux/arm` matches `linux/arm/v7`, but
 * `linux/arm/v7` does not match `linux/arm/v6` and `linux/amd64` does not match `linux/386`. An `os.version` is
 * compared only when `wanted` names one. Older compatible variants are `selectManifest`'s business.
 */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture || (w.variant ?? '') !== (c.variant ?? '')) return false;
  return w['os.version'] === undefined || w['os.version'] === c['os.version'];
}

/**
 * The platforms acceptable for `wanted`, best first: `wanted` itself, then older variants of the same
 * architecture that it can run (containerd's `platforms.Only` order): amd64/v3 → v2 → v1; arm/v7 → v6 → v5;
 * arm64/v8.2 → v8.1 → v8; arm64/v9.x → v9.(x-1)… → v8.(x+5)…. Unlike containerd, never another architecture
 * (amd64 → 386, arm64 → arm): verifying a 32-bit image when a 64-bit one was asked for would surprise.
 */
export function compatiblePlatforms(wanted: Platform): Platform[] {
  const base = normalizePlatform(wanted);
  const withVariant = (variant: string): Platform => {
    const p: Platform = { ...base };
    if (variant === '') delete p.variant;
    else p.variant = variant;
    return p;
  };
  const out: Platform[] = [base];
  const variant = base.variant ?? '';
  if (base.architecture === 'amd64' && /^v[0-9]$/.test(variant)) {
    for (let n = Number(variant.slice(1)) - 1; n >= 1; n--) out.push(withVariant(n === 1 ? '' : `v${n}`));
  } else if (base.architecture === 'arm' && /^v[0-9]$/.test(variant)) {
    for (let n = Number(variant.slice(1)) - 1; n >= 5; n--) out.push(withVariant(`v${n}`));
  } else if (base.architecture === 'arm64') {
    const m = /^v(8|9)(?:\.([0-9]))?$/.exec(variant === '' ? 'v8' : variant);
    if (m) {
      const major = Number(m[1]);
      const minor = Number(m[2] ?? '0');
      const arm64 = (maj: number, min: number): string => (maj === 8 && min === 0 ? '' : min === 0 ? `v${maj}` : `v${maj}.${min}`);
      for (let n = minor - 1; n >= 0; n--) out.push(withVariant(arm64(major, n)));
      if (major === 9) for (let n = Math.min(minor + 5, 9); n >= 0; n--) out.push(withVariant(arm64(8, n)));
    }
  }
  return out;
}
