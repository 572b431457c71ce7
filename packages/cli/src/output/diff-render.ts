import type { ConfigChange, FileChange, FileState, ImageDiff, ImageSide, UnsafeItem } from '@tollgate/core';
import { formatBytes, table } from './write.js';

const short = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

function show(value: unknown): string {
  if (value === undefined) return '(unset)';
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

function sideLine(label: string, side: ImageSide): string {
  const platform = side.platform ? ` ${side.platform}` : '';
  const index = side.indexDigest ? ` (from index ${short(side.indexDigest)})` : '';
  return `${label} ${side.reference ?? ''} ${side.digest}${platform}${index}, ${side.layers} layer${side.layers === 1 ? '' : 's'}`.replace(/\s+/g, ' ');
}

function describeState(state: FileState): string {
  const parts = [state.type, state.mode, `${state.uid}:${state.gid}`];
  if (state.type === 'file') parts.push(formatBytes(state.size));
  if (state.linkTarget !== undefined) parts.push(`→ ${state.linkTarget}`);
  if (state.hardlinkTo !== undefined) parts.push(`hardlink to ${state.hardlinkTo}`);
  if (state.hardlinkHeaders !== undefined) parts.push(`or ${linkHeaders(state)}`);
  if (state.devmajor !== undefined) parts.push(`device ${state.devmajor},${state.devminor ?? 0}`);
  return parts.join(' ');
}

/** Other metadata hardlink headers give the file: `4755 0:0 (hardlink header of /opt/y)`. */
function linkHeaders(state: FileState): string {
  const headers = state.hardlinkHeaders ?? [];
  if (headers.length === 0) return '(none)';
  return headers.map((h) => `${h.mode} ${h.uid}:${h.gid}${h.xattrs ? ' +xattrs' : ''} (hardlink header of ${h.path})`).join(', ');
}

/** What changed about a modified path, e.g. `content, mode 0644→0755`. */
export function describeChange(change: FileChange): string {
  if (change.kind === 'added') return describeState(change.after!);
  if (change.kind === 'removed') return describeState(change.before!);
  const a = change.before!;
  const b = change.after!;
  const out: string[] = [];
  for (const what of change.changes) {
    switch (what) {
      case 'type':
        out.push(`type ${a.type}→${b.type}`);
        break;
      case 'content':
        out.push(a.size === b.size ? 'content' : `content ${formatBytes(a.size)}→${formatBytes(b.size)}`);
        break;
      case 'linkTarget':
        out.push(`target ${a.linkTarget ?? a.hardlinkTo ?? '?'}→${b.linkTarget ?? b.hardlinkTo ?? '?'}`);
        break;
      case 'mode':
        out.push(`mode ${a.mode}→${b.mode}`);
        break;
      case 'special-bits':
        if (!change.changes.includes('mode')) out.push(`mode ${a.mode}→${b.mode}`);
        break;
      case 'uid':
        out.push(`uid ${a.uid}→${b.uid}`);
        break;
      case 'gid':
        out.push(`gid ${a.gid}→${b.gid}`);
        break;
      case 'xattrs':
        out.push('xattrs');
        break;
      case 'device':
        out.push(`device ${a.devmajor},${a.devminor}→${b.devmajor},${b.devminor}`);
        break;
      case 'hardlink':
        out.push(`hardlink ${a.hardlinkTo ?? '(none)'}→${b.hardlinkTo ?? '(none)'}`);
        break;
      case 'hardlink-headers':
        out.push(`hardlink headers ${linkHeaders(a)}→${linkHeaders(b)}`);
        break;
      case 'mtime':
        out.push(`mtime ${a.mtime ?? '?'}→${b.mtime ?? '?'}`);
        break;
    }
  }
  return out.join(', ');
}

const MARK = { added: '+', removed: '-', modified: '~' } as const;

function fileRows(files: readonly FileChange[]): string[][] {
  const flaggedFirst = [...files.filter((f) => f.flags.length > 0), ...files.filter((f) => f.flags.length === 0)];
  return flaggedFirst.map((f) => [MARK[f.kind], f.path, describeChange(f) + (f.flags.length ? `  [${f.flags.join(', ')}]` : '')]);
}

function configRow(change: ConfigChange): string[] {
  const mark = change.before === undefined ? '+' : change.after === undefined ? '-' : '~';
  const flags = change.flags.length ? `  [${change.flags.join(', ')}]` : '';
  return [mark, change.field, `${show(change.before)} → ${show(change.after)}${flags}`];
}

function unsafeLine(item: UnsafeItem): string {
  return `  ! ${JSON.stringify(item.path)} in layer ${short(item.layerDiffID)} (image ${item.images.join(', ')}): ${item.reason}`;
}

/** The human report: a summary, flagged items, then the changed paths, config, layers and manifests. */
export function renderDiff(diff: ImageDiff, options: { maxFiles?: number } = {}): string {
  const s = diff.summary;
  const lines = [sideLine('A:', diff.a), sideLine('B:', diff.b), ''];
  const only = diff.options.only;
  if (only.includes('files')) lines.push(`Files:    ${s.files.added} added, ${s.files.removed} removed, ${s.files.modified} modified`);
  if (only.includes('layers')) {
    lines.push(`Layers:   ${s.layers.shared} shared, ${s.layers.added} added, ${s.layers.removed} removed, ${s.layers.reordered} reordered, ${s.layers.recompressed} recompressed`);
  }
  if (only.includes('config')) lines.push(`Config:   ${s.config} change${s.config === 1 ? '' : 's'}`);
  if (only.includes('manifest')) lines.push(`Manifest: ${s.manifest} change${s.manifest === 1 ? '' : 's'}`);
  if (s.flagged > 0) lines.push(`Flagged:  ${s.flagged} security-relevant change${s.flagged === 1 ? '' : 's'}`);
  if (s.unsafe > 0) lines.push(`Unsafe:   ${s.unsafe} unsafe tar entr${s.unsafe === 1 ? 'y' : 'ies'} (reported, never followed)`);
  if (diff.options.semantic) lines.push('Mode:     semantic (timestamps, history, digests and media type spellings ignored)');

  if (diff.flagged.length > 0) {
    lines.push('', 'Flagged:');
    lines.push(table(diff.flagged.map((f) => ['  !', f.target, f.flags.join(', ')])));
  }
  if (diff.unsafe.length > 0) {
    lines.push('', 'Unsafe entries:');
    for (const item of diff.unsafe) lines.push(unsafeLine(item));
  }
  if (diff.files.length > 0) {
    const max = options.maxFiles ?? Infinity;
    const rows = fileRows(diff.files);
    lines.push('', 'Files:');
    lines.push(table(rows.slice(0, max).map((r) => [`  ${r[0]}`, r[1]!, r[2]!])));
    if (rows.length > max) lines.push(`  … and ${rows.length - max} more (use --json for all)`);
  }
  if (diff.config.length > 0) {
    lines.push('', 'Config:');
    lines.push(table(diff.config.map((c) => configRow(c)).map((r) => [`  ${r[0]}`, r[1]!, r[2]!])));
  }
  const layers = diff.layers;
  const movedOrRecompressed = layers.shared.filter((l) => l.reordered || l.recompressed);
  if (layers.added.length + layers.removed.length + movedOrRecompressed.length > 0) {
    lines.push('', 'Layers:');
    const rows: string[][] = [];
    for (const l of layers.removed) rows.push(['  -', `#${l.index}`, `diffID ${short(l.diffID)}  blob ${short(l.digest)}  ${formatBytes(l.size)}`]);
    for (const l of layers.added) rows.push(['  +', `#${l.index}`, `diffID ${short(l.diffID)}  blob ${short(l.digest)}  ${formatBytes(l.size)}`]);
    for (const l of movedOrRecompressed) {
      const what = [l.reordered ? `moved #${l.a.index}→#${l.b.index}` : '', l.recompressed ? `recompressed blob ${short(l.a.digest)}→${short(l.b.digest)}` : ''].filter(Boolean).join(', ');
      rows.push(['  ~', `#${l.b.index}`, `diffID ${short(l.diffID)}  ${what}`]);
    }
    lines.push(table(rows));
  }
  if (diff.manifest.length > 0) {
    lines.push('', 'Manifests:');
    lines.push(table(diff.manifest.map((m) => [`  ${m.before === undefined ? '+' : m.after === undefined ? '-' : '~'}`, `${m.scope} ${m.field}`, `${show(m.before)} → ${show(m.after)}`])));
  }
  lines.push('', diff.identical ? 'Identical.' : 'Different.');
  return lines.join('\n');
}
