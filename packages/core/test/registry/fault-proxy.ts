/**
 * A reverse proxy in front of a real docker-registry that lets a test inject one specific behaviour (a 429, a
 * redirect, pagination the registry lacks) while every other request is answered by the real registry.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Return true when the hook answered the request itself. */
export type Intercept = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface FaultProxy {
  host: string;
  /** Requests seen, in order: method, url and headers. */
  seen: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  intercept: Intercept | undefined;
  close(): Promise<void>;
}

export function forward(upstreamHost: string, req: IncomingMessage, res: ServerResponse, hostHeader?: string): void {
  const [hostname, port] = upstreamHost.split(':');
  const upstream = request(
    { hostname, port: Number(port), method: req.method, path: req.url, headers: { ...req.headers, host: hostHeader ?? req.headers.host } },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => {
    res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
}

export async function listen(server: Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Starts a proxy to `upstreamHost` (host:port) on 127.0.0.1 (or `bindHost`). */
export async function startFaultProxy(upstreamHost: string, bindHost = '127.0.0.1'): Promise<FaultProxy> {
  const proxy: FaultProxy = { host: '', seen: [], intercept: undefined, close: async () => undefined };
  const server = createServer((req, res) => {
    proxy.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    void (async () => {
      if (proxy.intercept && (await proxy.intercept(req, res))) return;
      // The registry builds Location headers from Host: keep ours so uploads come back through the proxy.
      forward(upstreamHost, req, res);
    })();
  });
  const port = await listen(server, bindHost);
  proxy.host = `${bindHost}:${port}`;
  proxy.close = () => closeServer(server);
  return proxy;
}
