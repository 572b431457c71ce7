/** A plain node-redis client, for tests that look at or plant keys behind the store's back. */
import { createClient } from 'redis';

export const connectRawRedis = (url: string) => createClient({ url }).connect();
export type RawRedis = Awaited<ReturnType<typeof connectRawRedis>>;
