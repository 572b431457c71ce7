// Preloaded with `node --import` (through NODE_OPTIONS) by tests that check what a command loads. It writes every
// module the process loaded, one absolute path a line, to $TOLLGATE_MODULE_LOG: ES modules as the loader hook sees
// them, and, at exit, everything in the CommonJS cache — which holds the packages imported from ES modules as well
// as those required lazily with createRequire, which no ES loader hook sees. A file of the CLI's bundle
// (packages/cli/bundle, scripts/bundle-cli.mjs) stands for every module bundled into it: at exit the probe adds
// those modules' own paths, from the bundle's modules.json, so a bundled module counts as loaded exactly when the
// chunk that holds it was.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';

const log = process.env.TOLLGATE_MODULE_LOG;
if (!log) throw new Error('module-probe: set TOLLGATE_MODULE_LOG to the file to write');
register(new URL('./module-probe-hooks.mjs', import.meta.url), { data: { log } });
const cache = createRequire(import.meta.url).cache;

function bundledModules(paths) {
  const out = [];
  const manifests = new Map();
  for (const path of paths) {
    const dir = dirname(path);
    if (!manifests.has(dir)) {
      const file = join(dir, 'modules.json');
      manifests.set(dir, existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined);
    }
    const inputs = manifests.get(dir)?.[basename(path)];
    // Inputs are relative to the repository, three levels above packages/cli/bundle.
    if (inputs) out.push(...inputs.map((input) => resolve(dir, '../../..', input)));
  }
  return out;
}

process.on('exit', () => {
  const loaded = [...(existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []), ...Object.keys(cache)];
  appendFileSync(log, [...Object.keys(cache), ...bundledModules(loaded)].map((path) => `${path}\n`).join(''));
});
