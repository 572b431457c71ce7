import type { FileEntry } from '../layer/types.js';
import type { Inode } from './inode.js';

/**
 * A path's state in the merged filesystem: the layer entry that put it there. A hardlink is resolved to the entry
 * of its target as it was when the hardlink's layer was applied (same content, mode, owner), with `hardlinkTo`
 * naming the target; a hardlink whose target did not exist keeps type 'hardlink'. Paths that share a file
 * through hardlinks share an `inode`, which holds the hardlink headers that may give that file other metadata:
 * read a path's possible modes with `possibleModes()`, never `mode` alone.
 */
export type MergedEntry = FileEntry & { hardlinkTo?: string; inode?: Inode };

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/**
 * The merged view of a stack of layers, keyed by normalised path (no leading '/'; the root is '' and is not an
 * entry). It can sit on a frozen `lower` filesystem and record only its own changes: two images that share a
 * prefix of layers merge the prefix once and each apply their own layers on top, and the paths either side
 * changed (`changedPaths()`) are the only places where they can differ.
 */
export class MergedFilesystem {
  /** Own state: an entry, or null for "deleted from lower". */
  readonly #changes = new Map<string, MergedEntry | null>();
  /** Child paths by directory path (including implicit directories), built on first need. */
  #children: Map<string, Set<string>> | undefined;

  constructor(readonly lower?: MergedFilesystem) {}

  get(path: string): MergedEntry | undefined {
    const own = this.#changes.get(path);
    if (own !== undefined) return own ?? undefined;
    return this.lower?.get(path);
  }

  has(path: string): boolean {
    return this.get(path) !== undefined;
  }

  set(path: string, entry: MergedEntry): void {
    this.#changes.set(path, entry);
    if (this.#children) this.#index(path);
  }

  /** Deletes one path (not what lies below it). */
  remove(path: string): void {
    if (this.lower?.get(path) !== undefined) this.#changes.set(path, null);
    else this.#changes.delete(path);
  }

  /** Deletes a path and everything below it. */
  removeTree(path: string): void {
    this.removeBelow(path);
    this.remove(path);
  }

  /** Deletes everything below a directory path ('' for the root), keeping the path itself. */
  removeBelow(path: string): void {
    for (const child of [...this.childPaths(path)]) this.removeTree(child);
  }

  /** Paths recorded directly below `path`, possibly including some already deleted (callers re-check). */
  childPaths(path: string): Set<string> {
    const own = this.#childIndex().get(path);
    const lower = this.lower?.childPaths(path);
    if (!lower || lower.size === 0) return own ?? new Set();
    if (!own || own.size === 0) return lower;
    return new Set([...lower, ...own]);
  }

  /** Paths this filesystem changed relative to `lower` (all its paths when it has no lower). */
  changedPaths(): IterableIterator<string> {
    return this.#changes.keys();
  }

  /** Every path present, in no particular order. */
  *paths(): IterableIterator<string> {
    if (this.lower) {
      for (const path of this.lower.paths()) if (!this.#changes.has(path)) yield path;
    }
    for (const [path, entry] of this.#changes) if (entry !== null) yield path;
  }

  /** The whole merged view as a map (for tests and small images). */
  toMap(): Map<string, MergedEntry> {
    const out = new Map<string, MergedEntry>();
    for (const path of this.paths()) out.set(path, this.get(path)!);
    return out;
  }

  #childIndex(): Map<string, Set<string>> {
    if (!this.#children) {
      this.#children = new Map();
      for (const path of this.#changes.keys()) this.#index(path);
    }
    return this.#children;
  }

  /** Records `path` under its parent, and each implicit ancestor under its own parent, up to the root. */
  #index(path: string): void {
    const children = this.#children!;
    let child = path;
    while (child !== '') {
      const parent = parentOf(child);
      let set = children.get(parent);
      if (set === undefined) {
        set = new Set();
        children.set(parent, set);
        set.add(child);
        child = parent;
        continue;
      }
      // The parent already has a set, so it (and its ancestors) are indexed already.
      set.add(child);
      return;
    }
  }
}
