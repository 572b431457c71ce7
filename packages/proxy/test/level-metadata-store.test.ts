import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { LevelMetadataStore } from '../src/index.js';
import { metadataStoreContract } from './metadata-store-contract.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-level-meta-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('LevelMetadataStore', () => {
  let n = 0;
  // Each test gets its own database, except the reopen test, which opens the same one twice.
  metadataStoreContract(async () => LevelMetadataStore.open(join(dir, `db-${n++ < 3 ? n : 'persist'}`)));
});
