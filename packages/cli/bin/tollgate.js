#!/usr/bin/env node
import { statSync } from 'node:fs';
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

/**
 * Commands that stream whole layers allocate hundreds of MB of short-lived buffers (zlib's output, file reads).
 * V8 counts them against a small limit in a fresh process and runs a full collection for every ~64 MB of them; a
 * larger initial heap avoids most of them (a 360 MB layer: 24 -> 0 on Node 20, 18 -> 8 on Node 24; `validate` of a
 * 1.3 GB layer 4.2 -> 4.0 s).
 * A process cannot enlarge its own heap once started, so these commands run in a child `node` given the flag.
 * Everything else (`--version`, `--help`, quick commands) starts directly, as fast as before.
 */
const HEAP_FLAG = '--initial-heap-size=64';

function streamsLayers(args) {
  if (args.includes('--help') || args.includes('-h')) return false;
  return args[0] === 'validate' || args[0] === 'diff' || (args[0] === 'policy' && args[1] === 'check');
}

/**
 * Runs this script again in a child with HEAP_FLAG, passing signals on. Resolves with the exit code to use, or
 * undefined when no child could be started (the command then runs in this process).
 */
async function relaunch(args) {
  const { spawn } = await import('node:child_process');
  const { constants } = await import('node:os');
  const { fileURLToPath } = await import('node:url');
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(process.execPath, [HEAP_FLAG, fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
    } catch {
      resolve(undefined);
      return;
    }
    const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const forward = (signal) => child.kill(signal);
    for (const signal of forwarded) process.on(signal, forward);
    child.on('error', () => resolve(undefined));
    child.on('exit', (code, signal) => {
      for (const s of forwarded) process.off(s, forward);
      if (signal !== null && forwarded.includes(signal)) {
        // Stopped by a signal we passed on: end the same way, so the caller sees the signal.
        process.kill(process.pid, signal);
        return;
      }
      resolve(signal !== null ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
    });
  });
}

/**
 * The CLI's bundle (scripts/bundle-cli.mjs, made by set-up's build and `npm run build`): a few files where dist is
 * ~250 modules, which is most of a command's start-up. Used when it is there and no package was compiled after it
 * (a `tsc -b` alone leaves it behind: dist then runs as it is, as it does where there is no bundle).
 */
function currentBundle() {
  try {
    const bundle = new URL('../bundle/main.js', import.meta.url);
    const bundled = statSync(bundle).mtimeMs;
    for (const pkg of ['cli', 'core', 'proxy']) {
      const built = statSync(new URL(`../../${pkg}/dist/.tsbuildinfo`, import.meta.url), { throwIfNoEntry: false });
      if (built !== undefined && built.mtimeMs > bundled) return undefined;
    }
    return bundle.href;
  } catch {
    return undefined;
  }
}

/**
 * The servers (`proxy serve`, `webhook serve`) run for weeks with many concurrent streams, and their resident memory
 * is mostly what V8's young generation and glibc's per-thread malloc arenas keep: measured with 20 concurrent cold
 * 200 MB pulls over three replicas (docs/benchmarks.md, "Scale-out"), a smaller young generation and two arenas kept
 * the peak ~40 MB lower, at no measured cost in CPU. The process replaces itself (same pid, no wrapper left behind,
 * signals and exit codes as before) with a node given those settings; an operator's own MALLOC_ARENA_MAX or node
 * flags win, and where the runtime cannot replace a process the server simply runs as it is.
 */
const SERVE_FLAG = '--max-semi-space-size=8';

function serves(args) {
  if (args.includes('--help') || args.includes('-h')) return false;
  return (args[0] === 'proxy' || args[0] === 'webhook') && args[1] === 'serve';
}

async function replaceForServing(args) {
  if (typeof process.execve !== 'function') return;
  const { fileURLToPath } = await import('node:url');
  const env = { ...process.env };
  env.MALLOC_ARENA_MAX ??= '2';
  const flags = /--max-semi-space-size/.test(process.env.NODE_OPTIONS ?? '') ? [] : [SERVE_FLAG];
  if (flags.length === 0 && env.MALLOC_ARENA_MAX === process.env.MALLOC_ARENA_MAX) return;
  try {
    process.execve(process.execPath, [process.execPath, ...flags, fileURLToPath(import.meta.url), ...args], env);
  } catch {
    // not replaced: serve from this process
  }
}

const args = process.argv.slice(2);
// Only a plain `node tollgate.js` (or the installed bin) relaunches; explicit node flags (ours included) run as given.
if (process.execArgv.length === 0 && process.env.TOLLGATE_SERVE_REPLACED === undefined && serves(args)) {
  process.env.TOLLGATE_SERVE_REPLACED = '1';
  await replaceForServing(args);
}
const code = process.execArgv.length === 0 && streamsLayers(args) ? await relaunch(args) : undefined;

if (code !== undefined) {
  process.exitCode = code;
} else {
  const { main } = await import(currentBundle() ?? '../dist/main.js');

  // A reader that stops early (`tollgate sign --help | head`) is not an error: stop quietly, as Go tools and cat do.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }

  process.exitCode = await main(process.argv);
}
