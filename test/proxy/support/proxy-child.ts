/**
 * Runs a tollgate proxy in its own process (for kill -9 tests): `node --conditions=tollgate-source --import tsx
 * proxy-child.ts '<config json>'`. Prints one JSON line with the URL once listening.
 */
import { allowAllGate, createLogger, createProxy, normalizeProxyConfig } from '../../../packages/proxy/src/index.js';

const config = normalizeProxyConfig(JSON.parse(process.argv[2]!), { env: {} });
const proxy = await createProxy(config, { gate: allowAllGate, logger: createLogger('silent') });
const { url } = await proxy.listen();
process.stdout.write(`${JSON.stringify({ url })}\n`);
