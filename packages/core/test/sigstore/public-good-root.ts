import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * The Sigstore public-good trusted root JSON as @sigstore/tuf ships it in its TUF seed (what publicGoodTrustedRoot()
 * loads): the same root as ../shared's trusted_root.public-good.json, there without ../shared.
 */
export function publicGoodRootText(): string {
  const seeds = JSON.parse(readFileSync(createRequire(import.meta.url).resolve('@sigstore/tuf/seeds.json'), 'utf8')) as Record<string, { targets: Record<string, string> }>;
  return Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev']!.targets['trusted_root.json']!, 'base64').toString('utf8');
}
