import { readFileSync } from 'node:fs';
import { needsShared, sharedPath } from '../../../../test/support/shared.js';

/** The shared interop fixtures, read in place (../shared/fixtures from the repository root), never copied. */
const FIXTURES = sharedPath('fixtures/');

/** Options for tests that read the cosign keys and the conformance key.pub: skipped, with the reason, without ../shared. */
export const COSIGN_FIXTURES = needsShared('fixtures/cosign', 'fixtures/sigstore-conformance');

export function fixture(path: string): Buffer {
  return readFileSync(`${FIXTURES}${path}`);
}
