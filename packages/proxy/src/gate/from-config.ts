import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  loadPolicyFile,
  loadTrustedRoot,
  MAX_TRUSTED_ROOT_BYTES,
  policyNeedsSigstoreRoot,
  rulesMatchingNoRegistry,
  publicGoodTrustedRootViaTuf,
  TollgateError,
  warmUpVerification,
  type LoadedPolicy,
  type TrustedRoot,
  type TufTrustedRoot,
} from '@tollgate/core';
import { registryOf } from '../config/registry-name.js';
import type { GateConfig, TufConfig, UpstreamConfig } from '../config/types.js';
import { allowAllGate } from './allow-all.js';
import { allowListGate } from './allow-list.js';
import { bytesDigest, policyGate, type PolicyGateOptions } from './policy-gate.js';
import { refreshingGate } from './refreshing-gate.js';
import type { Gate } from './types.js';

/**
 * The gate a config names (`gate: allow-all` or `gate: {allowDigests}`); undefined when none is configured.
 * A policy gate reads files: build it with loadGate.
 */
export function gateFromConfig(config: GateConfig | undefined): Gate | undefined {
  if (config === undefined) return undefined;
  if (config.kind === 'policy') throw new TollgateError('USAGE', 'a policy gate reads its policy file: build it with loadGate(config.gate, config.upstreams)');
  return config.kind === 'allow-all' ? allowAllGate : allowListGate(config.allowDigests);
}

export interface LoadGateOptions {
  /**
   * The proxy's data directory: with it, a policy that needs the Sigstore trusted root and names no
   * `trustedRoot` file gets the public-good root through TUF (cached under `<dataDir>/tuf`, `gate.tuf` to change
   * the mirror or go offline). Without it (library use), the root embedded in tollgate.
   */
  dataDir?: string;
  /** Told the one line to log when the TUF mirror could not be reached and an older root is used. */
  notice?: (line: string) => void;
}

/**
 * Any configured gate, policy included: `gate: {policy: <file>, trustedRoot?: <file>, tuf?: {…}}` loads and
 * compiles the policy (an invalid policy stops the proxy from starting) and the trusted root, and maps each upstream
 * to the registry host its rules match (a registry's host, `docker.io` for Docker Hub; `<name>.oci` for a layout).
 * A TUF mirror that cannot be reached falls back to the cached root, then the embedded one, with a notice; TUF
 * metadata that fails verification is a start-up error (fail closed).
 */
export async function loadGate(config: GateConfig | undefined, upstreams: readonly UpstreamConfig[], options: LoadGateOptions = {}): Promise<Gate | undefined> {
  if (config?.kind !== 'policy') return gateFromConfig(config);
  const policy = await loadPolicyFile(config.policy);
  const registries = new Map(upstreams.map((u) => [u.name, registryOf(u)]));
  warnOfUnreachableRules(policy, [...new Set(registries.values())], options.notice);
  const base: PolicyGateOptions = {
    registryFor: (name) => {
      const registry = registries.get(name);
      if (registry === undefined) throw new TollgateError('USAGE', `no upstream is named ${name}`);
      return registry;
    },
  };

  if (config.trustedRoot === undefined && options.dataDir !== undefined && policyNeedsSigstoreRoot(policy)) {
    const tuf = config.tuf ?? {};
    const dataDir = options.dataDir;
    const first = await trustedRootViaTuf(tuf, dataDir, options.notice);
    // Loaded now rather than by the first client's pull: the Sigstore libraries (or notation's), the HTTP client.
    await warmUpVerification(policy, { trustedRoot: first.trustedRoot });
    return refreshingGate({
      initial: first.trustedRoot,
      build: (trustedRoot, trustedRootDigest) => policyGate(policy, { ...base, trustedRoot, trustedRootDigest }),
      // Only a root freshly verified from the mirror replaces the current one, never the cache or the embedded root.
      fetch: async () => {
        const next = await trustedRootViaTuf(tuf, dataDir, options.notice);
        return next.source === 'tuf' ? next.trustedRoot : undefined;
      },
      everyMs: tuf.offline ? 0 : (tuf.refreshHours ?? 24) * 3600 * 1000,
      ...(options.notice ? { notice: options.notice } : {}),
    });
  }

  let trustedRoot: TrustedRoot | undefined;
  let trustedRootDigest: string | undefined;
  if (config.trustedRoot !== undefined) {
    const bytes = await readFile(config.trustedRoot).catch(() => {
      throw new TollgateError('INVALID_CONFIG', `cannot read the trusted root ${config.trustedRoot}; check gate.trustedRoot`);
    });
    if (bytes.byteLength > MAX_TRUSTED_ROOT_BYTES) throw new TollgateError('INVALID_CONFIG', `the trusted root ${config.trustedRoot} is over ${MAX_TRUSTED_ROOT_BYTES} bytes; it is not a trusted root`);
    trustedRoot = loadTrustedRoot(bytes, `trusted root ${config.trustedRoot}`);
    trustedRootDigest = bytesDigest(bytes);
  }
  // Loaded now rather than by the first client's pull: the trusted root, notation's libraries, the HTTP client.
  trustedRoot = await warmUpVerification(policy, trustedRoot ? { trustedRoot } : {});
  return policyGate(policy, {
    ...base,
    ...(trustedRoot ? { trustedRoot } : {}),
    ...(trustedRootDigest ? { trustedRootDigest } : {}),
  });
}

/**
 * Policy rules whose patterns name no registry any upstream serves never apply through this proxy (a rule written
 * for docker.io/** while the Hub mirror is named by its own host): said once at start-up, naming the fix.
 */
function warnOfUnreachableRules(policy: LoadedPolicy, registries: string[], notice?: (line: string) => void): void {
  for (const rule of rulesMatchingNoRegistry(policy.rules, registries)) {
    const patterns = rule.patterns.map((p) => p.source).join(', ');
    notice?.(`policy rule "${rule.name}" (images: ${patterns}) matches no registry of the configured upstreams (${registries.join(', ')}), so it never applies; fix its images or set upstreams[].registry`);
  }
}

async function trustedRootViaTuf(tuf: TufConfig, dataDir: string, notice?: (line: string) => void): Promise<TufTrustedRoot> {
  let tufRoot: Uint8Array | undefined;
  if (tuf.root !== undefined) {
    tufRoot = await readFile(tuf.root).catch(() => {
      throw new TollgateError('INVALID_CONFIG', `cannot read the TUF root ${tuf.root}; check gate.tuf.root`);
    });
  }
  const result = await publicGoodTrustedRootViaTuf({
    cacheDir: join(dataDir, 'tuf'),
    ...(tuf.mirror !== undefined ? { mirrorUrl: tuf.mirror } : {}),
    ...(tuf.offline !== undefined ? { offline: tuf.offline } : {}),
    ...(tufRoot !== undefined ? { tufRoot } : {}),
  });
  if (result.notice !== undefined) notice?.(result.notice);
  return result;
}
