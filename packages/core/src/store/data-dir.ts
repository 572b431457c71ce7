import envPaths from 'env-paths';

/** Where tollgate keeps its embedded store: `--data`, else `TOLLGATE_DATA`, else the platform's data directory. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TOLLGATE_DATA || envPaths('tollgate', { suffix: '' }).data;
}
