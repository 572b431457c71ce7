import { createRequire } from 'node:module';
import type { Descriptor } from '@tollgate/core';

type CliProgress = typeof import('cli-progress');

/** cli-progress draws only on a terminal; required then (CommonJS, so synchronously), not by every run in a pipe. */
const require = createRequire(import.meta.url);

export interface LayerProgress {
  update(layerIndex: number, bytesRead: number): void;
  stop(): void;
}

/** Progress bars per layer on stderr, only when stderr is a terminal: pipes and CI logs stay clean. */
export function layerProgress(layers: readonly Descriptor[], enabled = process.stderr.isTTY === true): LayerProgress {
  if (!enabled) return { update() {}, stop() {} };
  const cliProgress = require('cli-progress') as CliProgress;
  const multibar = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      clearOnComplete: true,
      hideCursor: true,
      format: ' {name} |{bar}| {percentage}% {value}/{total} bytes',
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = layers.map((layer, i) => multibar.create(Math.max(layer.size, 1), 0, { name: `layer ${i} ${layer.digest.slice(7, 19)}` }));
  return {
    update(layerIndex, bytesRead) {
      bars[layerIndex]?.update(bytesRead);
    },
    stop() {
      multibar.stop();
    },
  };
}
