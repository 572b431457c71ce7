import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SHARED_DIR, SHARED_PARTS, sharedPath } from './support/shared.js';

/**
 * Tests that read ../shared skip when the part they need is missing. Where ../shared exists (CI) every part must be
 * there, so a moved or half-copied ../shared fails here instead of quietly skipping the interop tests.
 */
describe('../shared beside the clone', { skip: !existsSync(SHARED_DIR), meta: { skipReason: '../shared is not beside the clone' } }, () => {
  it.each(SHARED_PARTS)('has %s, not empty', (part) => {
    expect(existsSync(sharedPath(part)), `${sharedPath(part)} is missing`).toBe(true);
    expect(readdirSync(sharedPath(part)).length).toBeGreaterThan(0);
  });
});
