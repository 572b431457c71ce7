import type { Attachment, AttachedArtifactKind, ImageAttachments } from '@tollgate/core';

const GROUPS: ReadonlyArray<{ kind: AttachedArtifactKind; title: string }> = [
  { kind: 'signature', title: '🔐 Signatures' },
  { kind: 'attestation', title: '💾 Attestations' },
  { kind: 'sbom', title: '📦 SBOMs' },
  { kind: 'notation-signature', title: '🖋  Notation signatures' },
  { kind: 'other', title: '🔗 Other referrers' },
];

/**
 * cosign tree's picture: a header naming the image, then one branch per kind of attachment (attestations grouped
 * by predicate type), each entry a 🍒 digest with where it was found. Returns the lines.
 */
export function renderAttachmentTree(reference: string, found: ImageAttachments): string[] {
  if (found.attachments.length === 0) {
    return [`No Supply Chain Security Related Artifacts found for image ${reference} (${found.digest}), start creating one with simply \`tollgate sign ${reference}\``];
  }
  const lines = [`📦 Supply Chain Security Related artifacts for an image: ${reference} (${found.digest})`];
  const groups = GROUPS.map((g) => ({ ...g, entries: found.attachments.filter((a) => a.kind === g.kind) })).filter((g) => g.entries.length > 0);
  groups.forEach((group, gi) => {
    const lastGroup = gi === groups.length - 1;
    lines.push(`${lastGroup ? '└──' : '├──'} ${group.title}`);
    const indent = lastGroup ? '    ' : '│   ';
    if (group.kind === 'attestation') {
      const byType = new Map<string, Attachment[]>();
      for (const entry of group.entries) {
        const type = entry.predicateType ?? '(predicate type not annotated)';
        byType.set(type, [...(byType.get(type) ?? []), entry]);
      }
      [...byType].forEach(([type, entries], ti) => {
        const lastType = ti === byType.size - 1;
        lines.push(`${indent}${lastType ? '└──' : '├──'} ${type}`);
        branch(lines, `${indent}${lastType ? '    ' : '│   '}`, entries);
      });
    } else {
      branch(lines, indent, group.entries);
    }
  });
  if (found.omitted > 0) lines.push(`(${found.omitted} more not listed: over the --max-attachments limit)`);
  return lines;
}

function branch(lines: string[], indent: string, entries: Attachment[]): void {
  entries.forEach((entry, i) => lines.push(`${indent}${i === entries.length - 1 ? '└──' : '├──'} 🍒 ${entry.digest}  ${describe(entry)}`));
}

function describe(entry: Attachment): string {
  const what = entry.source === 'legacy-tag' ? `cosign legacy ${entry.mediaType}` : entry.artifactType ?? entry.mediaType;
  const where = entry.source === 'referrers-api' ? 'referrers API' : entry.source === 'fallback-tag' ? `referrers tag ${entry.tag}` : `tag ${entry.tag}`;
  return printable(`${what}, ${where}`);
}

function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').slice(0, 300);
}
