import type { GateConfig } from '../config/types.js';
import { allowAllGate } from './allow-all.js';
import { allowListGate } from './allow-list.js';
import type { Gate } from './types.js';

/** The gate a config names (`gate: allow-all` or `gate: {allowDigests}`); undefined when none is configured. */
export function gateFromConfig(config: GateConfig | undefined): Gate | undefined {
  if (config === undefined) return undefined;
  return config.kind === 'allow-all' ? allowAllGate : allowListGate(config.allowDigests);
}
