import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface SkopeoResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs skopeo (no shell); never throws, the result says how it went. */
export async function skopeo(args: string[]): Promise<SkopeoResult> {
  try {
    const { stdout, stderr } = await execFileAsync('skopeo', ['--insecure-policy', ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `skopeo copy docker://<ref> oci:<dir>:<tag>` from a plain-HTTP registry. */
export function skopeoPull(ref: string, layoutDir: string, tag = 'pulled'): Promise<SkopeoResult> {
  return skopeo(['copy', '--retry-times', '0', '--src-tls-verify=false', `docker://${ref}`, `oci:${layoutDir}:${tag}`]);
}
