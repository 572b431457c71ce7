import { TollgateError } from '@tollgate/core';
import { ClientClosedError, ClientOfflineError, ConnectionTimeoutError, DisconnectsClientError, ErrorReply, MultiErrorReply, ReconnectStrategyError, SocketClosedUnexpectedlyError, SocketTimeoutError, TimeoutError } from 'redis';

/** Socket errors that say the server cannot be reached, not that it refused what was asked. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN']);
/** Replies of a server that is up but cannot serve for the moment (loading, failing over, a script running). */
const TRANSIENT_REPLIES = ['LOADING', 'BUSY', 'MASTERDOWN', 'READONLY', 'TRYAGAIN', 'CLUSTERDOWN'];

/** The first word of a server error reply (its code), e.g. WRONGPASS; never the rest, which may quote input. */
function replyCode(error: ErrorReply): string {
  return error.message.split(' ', 1)[0]!.slice(0, 40);
}

/**
 * Why `error` means the store cannot be reached right now (a few words for a message), or undefined when it is
 * not a connection problem but an answer (a wrong type, no permission, out of memory).
 */
export function connectionProblem(error: unknown): string | undefined {
  if (error instanceof MultiErrorReply) {
    const first = error.replies[error.errorIndexes[0] ?? -1];
    return first instanceof ErrorReply && TRANSIENT_REPLIES.includes(replyCode(first)) ? replyCode(first) : undefined;
  }
  if (error instanceof ErrorReply) return TRANSIENT_REPLIES.includes(replyCode(error)) ? replyCode(error) : undefined;
  // What the client gave up on (only ever at open: running, it retries for good).
  if (error instanceof ReconnectStrategyError) return connectionProblem(error.originalError);
  if (error instanceof ClientOfflineError) return 'reconnecting';
  if (error instanceof ClientClosedError || error instanceof DisconnectsClientError) return 'connection closed';
  if (error instanceof SocketClosedUnexpectedlyError) return 'connection lost';
  if (error instanceof SocketTimeoutError || error instanceof ConnectionTimeoutError || error instanceof TimeoutError) return 'no answer in time';
  if (error instanceof DeadlineError) return error.message;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  // commandsQueueMaxLength: so many commands wait for an answer that the server is as good as unreachable.
  if (error instanceof Error && error.message === 'The queue is full') return 'too many commands waiting';
  return undefined;
}

/** A command that got no answer within the store's deadline (the connection is then replaced). */
export class DeadlineError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms / 1000} s`);
    this.name = 'DeadlineError';
  }
}

/**
 * What a failed Redis command becomes: STORE_UNAVAILABLE while the server cannot be reached (the request answers
 * 503 and the client retries), STORE_ERROR for anything else. `address` is host:port only: the URL may hold a
 * password. `lastProblem` tells why the client is offline (ECONNREFUSED …) when the command only saw "offline".
 */
export function storeFailure(error: unknown, address: string, lastProblem?: string): TollgateError {
  if (error instanceof TollgateError) return error;
  const problem = connectionProblem(error);
  if (problem !== undefined) {
    const reason = problem === 'reconnecting' && lastProblem !== undefined ? `reconnecting after ${lastProblem}` : problem;
    return new TollgateError('STORE_UNAVAILABLE', `the Redis metadata store at ${address} is unreachable (${reason}); requests fail until it is back`, { cause: error });
  }
  const what = error instanceof ErrorReply ? replyCode(error) : error instanceof Error ? error.name : 'error';
  return new TollgateError('STORE_ERROR', `the Redis metadata store at ${address} refused a command (${what}); check the server's log and that the database is tollgate's own`, { cause: error });
}
