import type { AttachmentKind } from '../signing/classify-referrer.js';

/** The kinds `--only` accepts (cosign's). */
export const ONLY_KINDS: readonly Exclude<AttachmentKind, 'other'>[] = ['sig', 'att', 'sbom'];

/** cosign's legacy tag suffixes and what each holds. */
export const LEGACY_SUFFIXES: ReadonlyArray<{ suffix: 'sig' | 'att' | 'sbom'; kind: Exclude<AttachmentKind, 'other'> }> = [
  { suffix: 'sig', kind: 'sig' },
  { suffix: 'att', kind: 'att' },
  { suffix: 'sbom', kind: 'sbom' },
];

/** Parses `--only sig,att,sbom` (comma-separated, repeatable); unknown words are a usage error's message. */
export function parseOnly(values: readonly string[]): { kinds: Set<AttachmentKind> } | { error: string } {
  const kinds = new Set<AttachmentKind>();
  for (const value of values) {
    for (const word of value.split(',').map((w) => w.trim().toLowerCase())) {
      if (word === '') continue;
      if (!(ONLY_KINDS as readonly string[]).includes(word)) return { error: `--only takes sig, att and sbom (comma-separated), not ${JSON.stringify(word.slice(0, 40))}` };
      kinds.add(word as AttachmentKind);
    }
  }
  if (kinds.size === 0) return { error: '--only needs at least one of sig, att, sbom' };
  return { kinds };
}
