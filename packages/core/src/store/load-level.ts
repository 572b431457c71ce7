type LevelModule = typeof import('level');

let level: Promise<LevelModule> | undefined;

/**
 * level (with classic-level's native binding and abstract-level) costs ~20 ms and ~7 MB to load; only commands that
 * cache layer indexes open a store, so it loads when the first one is opened.
 */
export function loadLevel(): Promise<LevelModule> {
  level ??= import('level');
  return level;
}
