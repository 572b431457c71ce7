import { trustedRootDigest, type TrustedRoot } from '@tollgate/core';
import type { Gate } from './types.js';

export interface RefreshingGate extends Gate {
  /** Fetches the root again now; resolves true when it changed (and with it the gate's revision). */
  refresh(): Promise<boolean>;
}

export interface RefreshingGateOptions {
  /** The root the proxy started with. */
  initial: TrustedRoot;
  /** Builds the gate for a root (its revision carries the root's digest). */
  build: (root: TrustedRoot, digest: string) => Gate;
  /** A fresh root from the TUF mirror, or undefined when only an older one could be had (unreachable mirror). */
  fetch: () => Promise<TrustedRoot | undefined>;
  /** 0: never on its own (refresh() still works). */
  everyMs: number;
  notice?: (line: string) => void;
}

/**
 * A policy gate whose Sigstore trusted root, fetched through TUF, is fetched again every few hours while the proxy
 * runs, so a long-running proxy follows Sigstore's key rotations without a restart. A new root is a new gate
 * revision: cached verdicts and blob admissions are evaluated again under it. A refresh never takes the proxy
 * backwards: a mirror that cannot be reached, or TUF metadata that fails verification, keeps the current root (with
 * a notice); only a root freshly verified from the mirror replaces it.
 */
export function refreshingGate(options: RefreshingGateOptions): RefreshingGate {
  let digest = trustedRootDigest(options.initial);
  let current = options.build(options.initial, digest);
  let running: Promise<boolean> | undefined;

  const refresh = (): Promise<boolean> => {
    running ??= (async () => {
      try {
        const root = await options.fetch();
        if (root === undefined) return false;
        const next = trustedRootDigest(root);
        if (next === digest) return false;
        digest = next;
        current = options.build(root, next);
        options.notice?.(`the Sigstore trusted root changed through TUF; gate revision is now ${current.revision}`);
        return true;
      } catch (error) {
        options.notice?.(`refreshing the Sigstore trusted root failed; keeping the current one: ${error instanceof Error ? error.message : String(error)}`);
        return false;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const timer = options.everyMs > 0 ? setInterval(() => void refresh(), options.everyMs) : undefined;
  timer?.unref();

  return {
    get revision() {
      return current.revision;
    },
    evaluate: (request) => current.evaluate(request),
    refresh,
    close() {
      if (timer !== undefined) clearInterval(timer);
    },
  };
}
