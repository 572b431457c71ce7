import type { ConfigChange, DiffSummary, FileChange, ImageDiff } from '@tollgate/core';

/** File changes kept with a decision, at most; flagged ones first. */
export const MAX_STORED_FILES = 500;
const MAX_STORED_CONFIG = 50;

/**
 * The dashboard's "What changed" for a tag move, stored beside the decision (metadata store listing `image-diff`,
 * keyed by `<from>..<to>`): computed once in the background after the decision, bounded in size.
 */
export type StoredDiff =
  | { status: 'done'; from: string; to: string; tag?: string; computedAt: number; summary: DiffSummary; files: FileChange[]; config: ConfigChange[]; omittedFiles: number; layersFromCache: number; bytesRead: number }
  | { status: 'skipped' | 'failed'; from: string; to: string; tag?: string; computedAt: number; reason: string };

export const diffKey = (from: string, to: string): string => `${from}..${to}`;

const severity = (change: FileChange): number => (change.flags.some((f) => f === 'setuid-added' || f === 'setgid-added' || f === 'file-capabilities') ? 0 : change.flags.length > 0 ? 1 : 2);

/** Flagged changes first (setuid/setgid/capabilities before the other flags), then by path; bounded. */
export function storedDiff(diff: ImageDiff, from: string, to: string, tag: string | undefined, at: number): StoredDiff {
  const files = [...diff.files].sort((a, b) => severity(a) - severity(b) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    status: 'done',
    from,
    to,
    ...(tag !== undefined ? { tag } : {}),
    computedAt: at,
    summary: diff.summary,
    files: files.slice(0, MAX_STORED_FILES),
    config: diff.config.slice(0, MAX_STORED_CONFIG),
    omittedFiles: Math.max(0, files.length - MAX_STORED_FILES),
    layersFromCache: diff.stats.layersFromCache,
    bytesRead: diff.stats.bytesRead,
  };
}
