// Loader hooks of module-probe.mjs (they run on the loader thread): one line per ES module loaded.
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let log;

export function initialize(data) {
  log = data.log;
}

export async function load(url, context, nextLoad) {
  if (url.startsWith('file:')) appendFileSync(log, `${fileURLToPath(url)}\n`);
  return nextLoad(url, context);
}
