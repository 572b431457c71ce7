type TufClient = typeof import('./tuf-client.js');

let client: Promise<TufClient> | undefined;

/**
 * tuf-js brings npm's fetch stack with it (make-fetch-happen, cacache, semver...): ~100 ms and ~15 MB at start-up
 * for every command, though only a TUF update of the trusted root uses it. Loaded on that first update instead.
 */
export function loadTufClient(): Promise<TufClient> {
  client ??= import('./tuf-client.js');
  return client;
}
