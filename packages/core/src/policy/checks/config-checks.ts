import type { ImageConfig } from '../../image/types.js';
import { isRootUser } from '../../diff/security-flags.js';
import type { CheckOutcome } from './types.js';

/** Docker Bench 4.1: the image must name a user that is not root (`User` empty, `root` or `0`, with or without a group, is root). */
export function checkNonRootUser(config: ImageConfig): CheckOutcome {
  const user = config.config?.User;
  if (isRootUser(user)) {
    const shown = user === undefined || user.trim() === '' ? 'no User (so root)' : `User ${JSON.stringify(user.slice(0, 64))}`;
    return { check: 'nonRootUser', passed: false, reason: `the image runs as root: its config has ${shown}; set USER to an unprivileged user` };
  }
  return { check: 'nonRootUser', passed: true, reason: `the image runs as ${JSON.stringify(user!.slice(0, 64))}, not root` };
}

/** Docker Bench 4.6: the image must define a HEALTHCHECK that is not `NONE`. */
export function checkHealthcheck(config: ImageConfig): CheckOutcome {
  const test = config.config?.Healthcheck?.Test;
  if (!Array.isArray(test) || test.length === 0) {
    return { check: 'healthcheck', passed: false, reason: 'the image has no HEALTHCHECK; add one' };
  }
  if (test[0] === 'NONE') return { check: 'healthcheck', passed: false, reason: 'the image disables its HEALTHCHECK (NONE); add one' };
  return { check: 'healthcheck', passed: true, reason: `the image has a HEALTHCHECK (${test.slice(0, 3).join(' ').slice(0, 80)})` };
}
