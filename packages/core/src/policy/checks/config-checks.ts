import type { ImageConfig } from '../../image/types.js';
import type { CheckOutcome } from './types.js';

/** Docker Bench 4.6: the image must define a HEALTHCHECK that is not `NONE`. */
export function checkHealthcheck(config: ImageConfig): CheckOutcome {
  const test = config.config?.Healthcheck?.Test;
  if (!Array.isArray(test) || test.length === 0) {
    return { check: 'healthcheck', passed: false, reason: 'the image has no HEALTHCHECK; add one' };
  }
  if (test[0] === 'NONE') return { check: 'healthcheck', passed: false, reason: 'the image disables its HEALTHCHECK (NONE); add one' };
  return { check: 'healthcheck', passed: true, reason: `the image has a HEALTHCHECK (${test.slice(0, 3).join(' ').slice(0, 80)})` };
}
