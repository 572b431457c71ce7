/**
 * Just enough TOML to read the files `tollgate proxy client-config` writes back: comments, `[table]` headers (kept as
 * written, e.g. `host."https://proxy:5000"`), and `key = value` lines whose values are JSON-compatible (basic strings,
 * booleans, numbers, arrays of those). Anything else is an error, so a test never reads a file it misunderstands.
 */
export function parse(text: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let table = root;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[([^\[\]]+)\]$/.exec(line);
    if (header) {
      const name = header[1]!.trim();
      if (name in root) throw new Error(`line ${i + 1}: table [${name}] twice`);
      table = {};
      root[name] = table;
      continue;
    }
    const pair = /^([A-Za-z0-9_-]+)\s*=\s*(.+?)\s*(#.*)?$/.exec(line);
    if (!pair) throw new Error(`line ${i + 1}: not a key = value line: ${line}`);
    if (pair[1]! in table) throw new Error(`line ${i + 1}: key ${pair[1]} twice`);
    table[pair[1]!] = JSON.parse(pair[2]!);
  }
  return root;
}
