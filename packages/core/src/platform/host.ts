import type { Platform } from '../image/types.js';

const ARCH: Partial<Record<NodeJS.Architecture, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/**
 * The platform images run on here: always `linux` (containers run in a Linux VM elsewhere), with Node's
 * architecture mapped to its OCI name; 32-bit arm gets the variant Node was built for (v7 by default).
 */
export function hostPlatform(): Platform {
  const architecture = ARCH[process.arch] ?? process.arch;
  const platform: Platform = { os: 'linux', architecture };
  if (architecture === 'arm') {
    const version = (process.config.variables as Record<string, unknown>).arm_version;
    platform.variant = typeof version === 'string' && /^[5-8]$/.test(version) ? `v${version}` : 'v7';
  }
  return platform;
}
