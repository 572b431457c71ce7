/**
 * Test harness: GitHub Actions' OIDC token endpoint on loopback (node:http), as the runner exposes it through
 * ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN: GET `<url>&audience=<aud>` with
 * `Authorization: bearer <request token>` answers `{"count":…,"value":"<jwt>"}`. What it answers is set per
 * test (`answer`, after the one-off answers queued in `next`), including the hostile answers: an HTTP error (with a
 * Retry-After), a connection reset before any answer, no answer at all, an oversized or non-JSON body.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type GitHubOidcAnswer =
  | { kind: 'token'; token: string }
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: 'body'; body: string | Buffer; contentType?: string; /** Sent in pieces without a Content-Length. */ chunked?: boolean };

export interface FakeGitHubOidc {
  /** ACTIONS_ID_TOKEN_REQUEST_URL (with a query already, as GitHub's has). */
  requestUrl: string;
  /** ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  requestToken: string;
  /** The env a CLI run in a GitHub Actions job with `id-token: write` sees. */
  env: Record<string, string>;
  /** What the next requests get. */
  answer: GitHubOidcAnswer;
  /** Answers for the next requests, one each, in order, before `answer` (taken off as they are used). */
  next: GitHubOidcAnswer[];
  /** Requests seen: the audience asked for and whether the bearer token was the runner's. */
  requests: Array<{ audience: string | null; authorized: boolean; apiVersion: string | null }>;
  stop(): Promise<void>;
}

export async function startFakeGitHubOidc(): Promise<FakeGitHubOidc> {
  const requestToken = randomBytes(16).toString('hex');
  const sockets = new Set<Socket>();
  const state: Pick<FakeGitHubOidc, 'answer' | 'next' | 'requests'> = { answer: { kind: 'status', status: 503 }, next: [], requests: [] };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const authorized = req.headers.authorization?.toLowerCase() === `bearer ${requestToken}`;
    state.requests.push({ audience: url.searchParams.get('audience'), authorized, apiVersion: url.searchParams.get('api-version') });
    if (!authorized) {
      res.writeHead(401).end('{"message":"bad token"}');
      return;
    }
    const answer = state.next.shift() ?? state.answer;
    switch (answer.kind) {
      case 'token':
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: 1, value: answer.token }));
        return;
      case 'status':
        res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.retryAfter !== undefined ? { 'retry-after': answer.retryAfter } : {}) }).end('{"message":"internal error"}');
        return;
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'hang':
        // Headers never come; the socket stays open until the client gives up (or stop() destroys it).
        return;
      case 'body':
        const body = Buffer.from(answer.body);
        res.writeHead(200, { 'content-type': answer.contentType ?? 'application/json', ...(answer.chunked ? {} : { 'content-length': String(body.length) }) });
        if (answer.chunked) {
          for (let offset = 0; offset < body.length; offset += 16 * 1024) res.write(body.subarray(offset, offset + 16 * 1024));
          res.end();
        } else res.end(body);
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const requestUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_apis/pipelines/workflows/1/idtoken?api-version=2.0`;
  return Object.assign(state, {
    requestUrl,
    requestToken,
    env: { ACTIONS_ID_TOKEN_REQUEST_URL: requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}
