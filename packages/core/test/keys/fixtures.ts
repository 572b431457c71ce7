import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The shared interop fixtures, read in place (../shared/fixtures from the repository root), never copied. */
const FIXTURES = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));

export function fixture(path: string): Buffer {
  return readFileSync(`${FIXTURES}${path}`);
}
