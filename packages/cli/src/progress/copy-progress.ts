import { createRequire } from 'node:module';
import type { CopyProgressEvent } from '@tollgate/core';

type CliProgress = typeof import('cli-progress');

const require = createRequire(import.meta.url);

export interface CopyProgress {
  onProgress?: (event: CopyProgressEvent) => void;
  stop(): void;
}

/** One bar on stderr for the bytes a copy moves, only when stderr is a terminal: pipes and CI logs stay clean. */
export function copyProgress(enabled = process.stderr.isTTY === true): CopyProgress {
  if (!enabled) return { stop() {} };
  const cliProgress = require('cli-progress') as CliProgress;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, clearOnComplete: true, hideCursor: true, format: ' copying |{bar}| {value}/{total} bytes, {blobs} blobs' },
    cliProgress.Presets.shades_classic,
  );
  let total = 0;
  let done = 0;
  let blobs = 0;
  let started = false;
  return {
    onProgress(event) {
      if (event.type === 'planned') {
        total += event.bytes;
        if (!started) bar.start(Math.max(total, 1), done, { blobs });
        else bar.setTotal(Math.max(total, 1));
        started = true;
      } else if (event.type === 'bytes') {
        done += event.bytes;
        if (started) bar.update(done, { blobs });
      } else {
        blobs++;
        if (event.status !== 'copied') done += event.size;
        if (started) bar.update(done, { blobs });
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
