// Bundles the built CLI (packages/cli/dist, with core's and proxy's dist) into packages/cli/bundle/: one ES module
// for what every command loads, plus a chunk for each part that is imported lazily (`import()` stays a chunk
// boundary). A new `node` then reads and links a handful of files instead of ~250 modules (docs/benchmarks.md,
// "CLI start-up"); bin/tollgate.js uses the bundle when it is there and dist otherwise.
//
// Only the workspace's own code and commander are bundled. Every other package stays where pnpm installed it and is
// imported (or required, on first use) from there, exactly as dist does: the lazy libraries stay lazy, native
// addons and packages that read files beside themselves keep working. Each such import is rewritten to the package
// file's path relative to the bundle, and each `import.meta.url` of a dist module to that module's own URL, so that
// `createRequire(import.meta.url)` and anything relative to a module resolve as they do from dist.
import { build } from 'esbuild';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = resolve(root, 'packages/cli/bundle');
const join = resolve;

/** A specifier for `path` usable from a module in outdir. */
function fromOutdir(path) {
  const rel = relative(outdir, path).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

const BUNDLED = [/^@tollgate\//, /^commander(\/|$)/];

const installedPackages = {
  name: 'installed-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.path.startsWith('node:') || BUNDLED.some((re) => re.test(args.path))) return undefined;
      if (args.pluginData === 'inner') return undefined;
      const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'inner' });
      if (found.errors.length > 0) return { errors: found.errors };
      if (found.external) return found; // node builtins
      return { path: fromOutdir(found.path), external: true };
    });
    b.onLoad({ filter: /[\\/]packages[\\/][^\\/]+[\\/]dist[\\/].*\.js$/ }, async (args) => {
      let contents = await readFile(args.path, 'utf8');
      if (contents.includes('import.meta.url')) {
        contents = contents.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromOutdir(args.path))}, import.meta.url).href`);
      }
      return { contents, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

await rm(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { main: join(root, 'packages/cli/dist/main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  conditions: ['import'],
  sourcemap: 'linked',
  sourcesContent: false,
  chunkNames: '[name]-[hash]', // beside main.js: the paths above are relative to outdir
  logLevel: 'warning',
  // commander is CommonJS: its require()s of Node's modules need a real require in an ES module.
  banner: { js: "import { createRequire as __tollgateCreateRequire } from 'node:module'; const require = __tollgateCreateRequire(import.meta.url);" },
  plugins: [installedPackages],
  metafile: true,
});

// Which modules each output file holds (paths relative to the repository), for tools and tests that ask which
// modules a command loaded (test/support/module-probe.mjs): a chunk stands for every module bundled into it.
const modules = {};
for (const [output, { inputs }] of Object.entries(result.metafile.outputs)) {
  if (output.endsWith('.js')) modules[relative(outdir, resolve(output))] = Object.keys(inputs).map((input) => relative(root, resolve(input)).split(sep).join('/'));
}
await writeFile(join(outdir, 'modules.json'), `${JSON.stringify(modules, null, 1)}\n`);
