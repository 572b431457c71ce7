#!/usr/bin/env node
import { main } from '../dist/main.js';

// A reader that stops early (`tollgate sign --help | head`) is not an error: stop quietly, as Go tools and cat do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

process.exitCode = await main(process.argv);
