/**
 * A load balancer for tests: a node:http reverse proxy that sends each request to the next backend in turn (the
 * way a Kubernetes Service or an L7 balancer spreads a client's requests over replicas). A backend that refuses the
 * connection is skipped, as a balancer's health check would; it only forwards and counts, it never alters a byte.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RoundRobin {
  url: string;
  host: string;
  /** Requests each backend received, by its index. */
  served: number[];
  /** Takes a backend out of the rotation (a replica being stopped) or puts it back. */
  setBackend(index: number, url: string | undefined): void;
  stop(): Promise<void>;
}

export async function startRoundRobin(backends: string[]): Promise<RoundRobin> {
  const targets: (URL | undefined)[] = backends.map((b) => new URL(b));
  const served = targets.map(() => 0);
  const sockets = new Set<Socket>();
  let next = 0;

  const forward = (req: IncomingMessage, res: ServerResponse, tried: number) => {
    const live = targets.map((t, i) => (t !== undefined ? i : -1)).filter((i) => i >= 0);
    if (live.length === 0 || tried >= live.length) {
      res.writeHead(502).end();
      return;
    }
    const index = live[next++ % live.length]!;
    const target = targets[index]!;
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      served[index]!++;
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
      up.on('error', () => res.destroy());
      up.on('aborted', () => res.destroy());
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' && !res.headersSent) forward(req, res, tried + 1);
      else res.destroy();
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end();
  };

  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => forward(req, res, 0));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    served,
    setBackend(index, url) {
      targets[index] = url === undefined ? undefined : new URL(url);
    },
    stop() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
