// Preloaded with `node --import` (through NODE_OPTIONS) by tests that check what a command loads. It writes every
// module the process loaded, one absolute path a line, to $TOLLGATE_MODULE_LOG: ES modules as the loader hook sees
// them, and, at exit, everything in the CommonJS cache — which holds the packages imported from ES modules as well
// as those required lazily with createRequire, which no ES loader hook sees.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const log = process.env.TOLLGATE_MODULE_LOG;
if (!log) throw new Error('module-probe: set TOLLGATE_MODULE_LOG to the file to write');
register(new URL('./module-probe-hooks.mjs', import.meta.url), { data: { log } });
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => appendFileSync(log, Object.keys(cache).map((path) => `${path}\n`).join('')));
