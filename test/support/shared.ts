/**
 * `../shared` beside the clone holds data the project never copies: real signatures made by cosign, notation and
 * sigstore-go (fixtures/) and the public sigstore-conformance suite (conformance/). CI has it; a fresh clone does not.
 * Tests that exist to prove interop with that data take `needsShared(...)` as their options and are skipped, with
 * the reason (the summary reporter groups and prints them), when the part they read is missing. Everything else
 * runs on fixtures the tests generate.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestOptions } from 'vitest';

declare module 'vitest' {
  interface TaskMeta {
    /** Why a test was skipped (set with the skip by needsShared); the summary reporter prints it. */
    skipReason?: string;
  }
}

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** ../shared beside the clone; TOLLGATE_SHARED_DIR points elsewhere (or at a missing directory, to see the skips). */
export const SHARED_DIR = resolve(process.env.TOLLGATE_SHARED_DIR || join(REPO_ROOT, '..', 'shared'));

/** Every part of ../shared a test reads. shared-data.test.ts asserts each is there whenever ../shared is. */
export const SHARED_PARTS = [
  'fixtures/notation',
  'fixtures/cosign',
  'fixtures/sigstore-conformance',
  'fixtures/sigstore-go',
  'conformance/sigstore-bundle-verify',
] as const;
export type SharedPart = (typeof SHARED_PARTS)[number];

/** The absolute path of `path` inside ../shared. */
export function sharedPath(path: string): string {
  return join(SHARED_DIR, path);
}

/** Why tests reading these parts of ../shared cannot run here, or undefined when they are all present. */
export function sharedMissing(...parts: SharedPart[]): string | undefined {
  const missing = parts.filter((part) => !existsSync(sharedPath(part)));
  if (missing.length === 0) return undefined;
  return `${missing.map((part) => `../shared/${part}`).join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not beside the clone`;
}

/**
 * Options for `describe` / `it` that read these parts of ../shared: nothing when they are present, a skip carrying
 * its reason when not. A skipped describe still runs its body to collect its tests, so read the data in hooks or
 * tests, never in the describe body itself.
 */
export function needsShared(...parts: SharedPart[]): TestOptions {
  const reason = sharedMissing(...parts);
  return reason === undefined ? {} : { skip: true, meta: { skipReason: reason } };
}
