#!/usr/bin/env node
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

// tollgate runs on Node 22.22+ and 24.15+ (engines.node); an older `node` on PATH would fail somewhere deep inside a
// dependency, so say it plainly instead.
if (Number(process.versions.node.split('.')[0]) < 22) {
  process.stderr.write(`tollgate needs Node 24 LTS (or 22.22+); this is Node ${process.versions.node} (${process.execPath})\n`);
  process.exit(2);
}

// Node's compile cache keeps the V8 code of tollgate's modules between runs, so a command does not compile the same
// few hundred modules again each time (see docs/benchmarks.md, "CLI start-up"). In the user's cache folder, unless
// NODE_COMPILE_CACHE names one (NODE_DISABLE_COMPILE_CACHE=1 turns it off). A folder that cannot be created or
// written only costs the speed-up: Node reports that as a status and carries on, and so do we.
try {
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE ? undefined : join(cacheHome, 'tollgate', 'compile-cache'));
} catch {
  // never a reason not to run
}

const { main } = await import('../dist/main.js');

// A reader that stops early (`tollgate sign --help | head`) is not an error: stop quietly, as Go tools and cat do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

process.exitCode = await main(process.argv);
