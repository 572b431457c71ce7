import { isUnavailableError } from '../../errors/tollgate-error.js';
import type { PolicyImage } from '../evaluate/types.js';
import { checkHealthcheck } from './config-checks.js';
import { checkNoSecrets, checkNoSetuid } from './file-checks.js';
import { checkBaseImages, checkMaxLayers, checkMaxSize } from './layer-checks.js';
import { checkNonRootUser } from './non-root-user.js';
import type { CheckOutcome, CompiledChecks } from './types.js';

/**
 * Runs a rule's checks on the pulled image. A check that cannot be completed (a layer that cannot be read, a
 * digest that does not match) fails with the reason: an unreadable image is never allowed.
 */
export async function runChecks(image: PolicyImage, checks: CompiledChecks): Promise<CheckOutcome[]> {
  const outcomes: CheckOutcome[] = [];
  if (checks.nonRootUser) outcomes.push(await guarded('nonRootUser', () => checkNonRootUser(image)));
  if (checks.healthcheck) outcomes.push(checkHealthcheck(image.config));
  if (checks.maxSize !== undefined) outcomes.push(checkMaxSize(image.layers, checks.maxSize));
  if (checks.maxLayers !== undefined) outcomes.push(checkMaxLayers(image.layers, checks.maxLayers));
  if (checks.baseImages !== undefined) outcomes.push(checkBaseImages(image.layers, checks.baseImages));
  if (checks.noSetuid) outcomes.push(await cached(image, checks.noSetuid, () => guarded('noSetuid', () => checkNoSetuid(image, checks.noSetuid!.allow))));
  if (checks.noSecrets) outcomes.push(await cached(image, checks.noSecrets, () => guarded('noSecrets', () => checkNoSecrets(image, checks.noSecrets!.patterns, checks.noSecrets!.allow))));
  return outcomes;
}

/**
 * File checks scan every path, so their outcome is kept per (image, compiled check): evaluating the same image
 * against the same loaded policy again costs nothing. A new policy compiles new check objects, so it never sees
 * an old outcome. Failures to read are not kept.
 */
const outcomes = new WeakMap<PolicyImage, WeakMap<object, Promise<CheckOutcome>>>();

function cached(image: PolicyImage, key: object, run: () => Promise<CheckOutcome>): Promise<CheckOutcome> {
  let byCheck = outcomes.get(image);
  if (byCheck === undefined) outcomes.set(image, (byCheck = new WeakMap()));
  let outcome = byCheck.get(key);
  if (outcome === undefined) {
    outcome = run();
    byCheck.set(key, outcome);
    void outcome.then((o) => {
      if (o.reason.includes('could not be read')) byCheck.delete(key);
    });
  }
  return outcome;
}

async function guarded(check: string, run: () => Promise<CheckOutcome>): Promise<CheckOutcome> {
  try {
    return await run();
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    if (isUnavailableError(error)) return { check, passed: false, indeterminate: true, reason: `the image's files could not be read for now (retry): ${detail}` };
    return { check, passed: false, reason: `the image's files could not be read (denied): ${detail}` };
  }
}
