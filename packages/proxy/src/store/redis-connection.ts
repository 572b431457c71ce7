import { TollgateError } from '@tollgate/core';
import { createClient, ErrorReply, ReconnectStrategyError } from 'redis';
import { connectionProblem, DeadlineError, storeFailure } from './redis-errors.js';

/** Connecting, the first answer at open, and every command get this long; a store slower than that is down. */
const DEADLINE_MS = 5_000;
/** Reconnecting backs off from 100 ms to at most 2 s: a proxy is serving again within ~2 s of Redis coming back. */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2_000;
/** An idle connection is pinged this often, so a dead one is noticed (and replaced) before a request needs it. */
const PING_EVERY_MS = 1_000;
/** Commands waiting for answers at most: while Redis hangs, memory stays bounded and new commands fail at once. */
const MAX_WAITING = 10_000;
/** Replies at open that mean the credentials or database in the URL are wrong, not that Redis is down. */
const REFUSALS = new Set(['NOAUTH', 'WRONGPASS', 'NOPERM', 'ERR']);

/** host:port of a redis:// URL, for messages: never the URL itself, which may hold a password. */
export function redisAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 6379}`;
  } catch {
    return '(an unparsable store.metadata URL)';
  }
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(ms)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function newClient(url: string, reconnectStrategy: (retries: number, cause: Error) => number | Error) {
  return createClient({
    url,
    // The protocol ioredis spoke: also works through servers and proxies without HELLO.
    RESP: 2,
    name: 'tollgate',
    // While reconnecting a command fails at once (the request answers 503) rather than waiting in memory for a
    // server that may not come back.
    disableOfflineQueue: true,
    commandsQueueMaxLength: MAX_WAITING,
    pingInterval: PING_EVERY_MS,
    socket: { connectTimeout: DEADLINE_MS, socketTimeout: DEADLINE_MS, reconnectStrategy },
  });
}

export type RedisClient = ReturnType<typeof newClient>;

/** Why opening failed, in one line naming host:port: unreachable (STORE_UNAVAILABLE) or refused (STORE_ERROR). */
function openFailure(error: unknown, address: string): TollgateError {
  const reply = error instanceof ReconnectStrategyError ? error.originalError : error;
  if (reply instanceof ErrorReply) {
    const code = reply.message.split(' ', 1)[0]!.slice(0, 40);
    if (REFUSALS.has(code)) return new TollgateError('STORE_ERROR', `the Redis metadata store at ${address} refused tollgate (${code}); check the user, password and database in store.metadata`, { cause: error });
  }
  const problem = connectionProblem(error) ?? (error instanceof Error ? error.name : 'error');
  return new TollgateError('STORE_UNAVAILABLE', `cannot reach the Redis metadata store at ${address} (${problem}); check store.metadata and that redis-server runs`, { cause: error });
}

/**
 * One connection to Redis that fails fast and heals itself. Opening fails within ~5 s when Redis does not answer.
 * Once open, a lost connection is re-made with a capped backoff, for as long as it takes; meanwhile, and for any
 * command that gets no answer within 5 s, the caller gets STORE_UNAVAILABLE at once instead of a request that hangs.
 */
export class RedisConnection {
  private client: RedisClient;
  /** Opened once: from then on a lost connection is retried for good instead of failing the open. */
  private opened = false;
  private closed = false;
  /** Why the connection last failed (ECONNREFUSED …), for the messages of commands that only see "offline". */
  private problem: string | undefined;

  private constructor(
    private readonly url: string,
    readonly address: string,
  ) {
    this.client = this.create();
  }

  static async open(url: string): Promise<RedisConnection> {
    const address = redisAddress(url);
    let connection: RedisConnection | undefined;
    try {
      connection = new RedisConnection(url, address);
      await withDeadline(connection.client.connect(), DEADLINE_MS);
      await withDeadline(connection.client.ping(), DEADLINE_MS);
    } catch (error) {
      connection?.discard(connection.client);
      throw openFailure(error, address);
    }
    connection.opened = true;
    return connection;
  }

  /** Runs one round trip; a failure becomes STORE_UNAVAILABLE (unreachable, no answer in time) or STORE_ERROR. */
  async run<T>(work: (client: RedisClient) => Promise<T>): Promise<T> {
    const client = this.client;
    try {
      return await withDeadline(work(client), DEADLINE_MS);
    } catch (error) {
      if (error instanceof DeadlineError) this.replace(client, error.message);
      throw storeFailure(error, this.address, this.problem);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    if (!client.isReady) return this.discard(client);
    // QUIT lets the answers on their way arrive; a server that does not answer it is cut off.
    await withDeadline(client.close(), DEADLINE_MS).catch(() => this.discard(client));
  }

  private create(): RedisClient {
    const client = newClient(this.url, (retries, cause) => {
      this.problem = connectionProblem(cause) ?? this.problem;
      // At open the operator hears at once; once running, the proxy waits for Redis to come back. The jitter keeps
      // replicas from reconnecting in lockstep.
      if (!this.opened) return cause;
      return Math.round(Math.min(FIRST_RETRY_MS * 2 ** retries, MAX_RETRY_MS) * (0.75 + Math.random() / 4));
    });
    // Every failed reconnect is an 'error' event; without a listener it would crash the process.
    client.on('error', (error: unknown) => {
      this.problem = connectionProblem(error) ?? this.problem;
    });
    return client;
  }

  /**
   * A command got no answer although the socket looks open (a frozen server, packets dropped on the way): under
   * load the socket is never idle long enough to time out by itself, so the connection is replaced.
   */
  private replace(stale: RedisClient, why: string): void {
    if (stale !== this.client || this.closed) return;
    this.problem = why;
    this.client = this.create();
    this.discard(stale);
    this.client.connect().catch(() => undefined);
  }

  private discard(client: RedisClient): void {
    try {
      if (client.isOpen) client.destroy();
    } catch {
      // already gone
    }
  }
}
