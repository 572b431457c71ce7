import { createRequire } from 'node:module';

type YamlLibrary = typeof import('yaml');

/**
 * The YAML parser costs every tollgate command ~35 ms and ~8 MB when imported up front, and only commands that
 * read a policy use it. So it loads on first use, synchronously because parsePolicyYaml is a synchronous API;
 * yaml's Node build is CommonJS, so require returns the very module object that an import would.
 */
const require = createRequire(import.meta.url);

let yaml: YamlLibrary | undefined;

export function yamlLibrary(): YamlLibrary {
  return (yaml ??= require('yaml') as YamlLibrary);
}
