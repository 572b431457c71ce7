// Exits 0 when the Node running it satisfies the `engines.node` range of the root package.json, 1 (with a line
// on stderr) when not. Plain JavaScript with no dependencies, so any Node can run it, the old one too: set-up asks
// the machine's Node with it whether the machine's Node will do. Understands what our engines field uses:
// `>=X.Y.Z`, `^X.Y.Z` and alternatives joined by `||`.
import { readFileSync } from 'node:fs';

const range = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node;
const version = process.versions.node.split('.').map(Number);

function compare(a, b) {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

function satisfies(alternative) {
  const match = /^(>=|\^)\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(alternative.trim());
  if (!match) throw new Error(`check-node: cannot read the engines range ${JSON.stringify(range)}`);
  const floor = [Number(match[2]), Number(match[3] ?? 0), Number(match[4] ?? 0)];
  if (compare(version, floor) < 0) return false;
  return match[1] === '>=' || version[0] === floor[0];
}

if (!range.split('||').some(satisfies)) {
  process.stderr.write(`Node ${process.versions.node} (${process.execPath}) is not one tollgate supports (${range})\n`);
  process.exit(1);
}
