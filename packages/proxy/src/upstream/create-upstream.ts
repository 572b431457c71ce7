import type { UpstreamConfig } from '../config/types.js';
import { OciUpstream } from './oci-upstream.js';
import { RegistryUpstream } from './registry-upstream.js';
import type { Upstream } from './types.js';

export function createUpstream(config: UpstreamConfig, env: NodeJS.ProcessEnv = process.env): Upstream {
  return config.oci !== undefined ? new OciUpstream(config) : new RegistryUpstream(config, env);
}
