/**
 * A node:http reverse proxy in front of a real docker-registry. With no fault armed it only forwards and counts
 * requests (the "counting proxy"); armed, it breaks matching responses the way real networks and registries do.
 * By default the Host header is the upstream's, so the registry's absolute URLs (upload Locations) name the registry
 * itself; with preserveHost they name the proxy, and uploads pass through it too.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | 'truncate' // ends the body cleanly after half of it (no Content-Length)
  | 'wrong-digest' // replaces Docker-Content-Digest
  | 'reset' // sends half the body, then destroys the socket
  | 'drip' // sends one byte, then nothing more until the client gives up
  | 'stall' // sends half the body, emits 'stalled', then holds the connection open
  | '400' // an answer, not an outage: {"errors":[{"code":"UNSUPPORTED"}]}
  | '405' // an answer too (a registry that does not allow the method), same body
  | '501' // an answer too (not implemented), same body
  | '429'
  | '500'
  | 'refuse' // destroys the socket before any response
  | 'hold' // emits 'held', then sends the whole response when release() is called
  | 'redirect' // answers 307 to the URL given to redirectTo() (the target is the test's business)
  | 'flip'; // streams the whole body with the byte in its middle altered (Content-Length as the registry said)

export interface SeenRequest {
  method: string;
  path: string;
}

interface Armed {
  fault: Fault;
  match: (r: SeenRequest) => boolean;
  remaining: number;
}

export interface FaultProxy {
  url: string;
  host: string;
  requests: SeenRequest[];
  events: EventEmitter;
  count(match: (r: SeenRequest) => boolean): number;
  arm(fault: Fault, match: (r: SeenRequest) => boolean, times?: number): void;
  disarm(): void;
  /** Lets held responses go. */
  release(): void;
  /** Where 'redirect' sends the client. */
  redirectTo(location: string): void;
  stop(): Promise<void>;
}

/** Passes a body of `length` bytes through, altering the byte at `length / 2` (rounded down). */
function flipMiddleByte(length: number): Transform {
  const target = Math.floor(length / 2);
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (target >= offset && target < offset + chunk.length) {
        const altered = Buffer.from(chunk);
        altered[target - offset] = altered[target - offset]! ^ 0x01;
        chunk = altered;
      }
      offset += chunk.length;
      done(null, chunk);
    },
  });
}

export interface FaultProxyOptions {
  /** Forward the client's Host header instead of the upstream's (for pushes through the proxy). */
  preserveHost?: boolean;
}

export async function startFaultProxy(targetUrl: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const requests: SeenRequest[] = [];
  const events = new EventEmitter();
  let armed: Armed[] = [];
  let redirectLocation = 'http://127.0.0.1:9/';
  const sockets = new Set<Socket>();

  const takeFault = (seen: SeenRequest): Fault | undefined => {
    const entry = armed.find((a) => a.remaining > 0 && a.match(seen));
    if (entry === undefined) return undefined;
    entry.remaining--;
    return entry.fault;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const seen = { method: req.method ?? 'GET', path: req.url ?? '/' };
    requests.push(seen);
    const fault = takeFault(seen);
    if (fault === 'redirect') {
      res.writeHead(307, { location: redirectLocation });
      res.end();
      return;
    }
    if (fault === 'refuse') {
      req.socket.destroy();
      return;
    }
    if (fault === '400' || fault === '405' || fault === '501' || fault === '429' || fault === '500') {
      const code = fault === '429' ? 'TOOMANYREQUESTS' : fault === '500' ? 'UNKNOWN' : 'UNSUPPORTED';
      res.writeHead(Number(fault), { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code, message: 'injected by the fault proxy' }] }));
      return;
    }
    const headers = options.preserveHost ? req.headers : { ...req.headers, host: target.host };
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (up) => {
      const outHeaders = { ...up.headers };
      if (fault === 'wrong-digest') outHeaders['docker-content-digest'] = `sha256:${createHash('sha256').update('not the manifest').digest('hex')}`;
      if (fault === 'flip') {
        res.writeHead(up.statusCode ?? 502, outHeaders);
        up.pipe(flipMiddleByte(Number(up.headers['content-length'] ?? 0))).pipe(res);
        return;
      }
      if (fault === undefined || fault === 'wrong-digest') {
        res.writeHead(up.statusCode ?? 502, outHeaders);
        up.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        const body = Buffer.concat(chunks);
        const half = body.subarray(0, Math.max(1, Math.floor(body.length / 2)));
        if (fault === 'truncate') {
          delete outHeaders['content-length'];
          res.writeHead(up.statusCode ?? 502, outHeaders);
          res.end(half);
        } else if (fault === 'reset') {
          res.writeHead(up.statusCode ?? 502, outHeaders);
          res.write(half, () => res.socket?.destroy());
        } else if (fault === 'drip') {
          res.writeHead(up.statusCode ?? 502, outHeaders);
          res.write(body.subarray(0, 1));
          events.emit('dripping', seen);
        } else if (fault === 'hold') {
          events.once('release', () => {
            res.writeHead(up.statusCode ?? 502, outHeaders);
            res.end(body);
          });
          events.emit('held', seen);
        } else if (fault === 'stall') {
          res.writeHead(up.statusCode ?? 502, outHeaders);
          res.write(half, () => events.emit('stalled', seen));
        }
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };

  const server: Server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    events,
    count: (match) => requests.filter(match).length,
    arm(fault, match, times = 1) {
      armed.push({ fault, match, remaining: times });
    },
    disarm() {
      armed = [];
    },
    release() {
      events.emit('release');
    },
    redirectTo(location) {
      redirectLocation = location;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
