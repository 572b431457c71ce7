import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendFileRange } from '../src/serve/send-file.js';

const MiB = 1 << 20;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let dir: string;
let server: Server;
let base: string;
/** What each request's sendFileRange reported, and its handle, by request id. */
const outcomes = new Map<string, { sent: number; handle: FileHandle }>();
const finished = new Map<string, Promise<void>>();
/** Runs before sending, so a test can change the file after it was opened. */
const beforeSend = new Map<string, () => Promise<void>>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tollgate-send-file-'));
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const id = url.searchParams.get('id')!;
    const file = join(dir, url.searchParams.get('file')!);
    const start = Number(url.searchParams.get('start'));
    const end = Number(url.searchParams.get('end'));
    let done!: () => void;
    finished.set(id, new Promise((r) => (done = r)));
    void (async () => {
      const handle = await open(file, url.searchParams.get('flags') ?? 'r');
      await beforeSend.get(id)?.();
      res.writeHead(200, { 'content-length': String(end - start + 1) });
      const sent = await sendFileRange(res, handle, start, end);
      outcomes.set(id, { sent, handle });
      done();
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

let nextId = 0;
function request(query: Record<string, string | number>): { id: string; response: Promise<IncomingMessage> } {
  const id = String(nextId++);
  const search = new URLSearchParams({ id, ...Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])) });
  const response = new Promise<IncomingMessage>((resolve, reject) => get(`${base}/?${search}`, resolve).on('error', reject));
  return { id, response };
}

/** Reads the whole body; `slow` yields to the event loop between chunks so the server's buffers fill up. */
async function body(res: IncomingMessage, slow = false): Promise<{ bytes: Buffer; error?: Error }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of res) {
      chunks.push(chunk as Buffer);
      if (slow) await new Promise((r) => setImmediate(r));
    }
    return { bytes: Buffer.concat(chunks) };
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error: error as Error };
  }
}

async function file(name: string, bytes: Buffer): Promise<Buffer> {
  await writeFile(join(dir, name), bytes);
  return bytes;
}

describe('sendFileRange', () => {
  it.each([0, 1, MiB - 1, MiB, MiB + 1, 3.5 * MiB])('sends all %i bytes exactly and closes the file', async (size) => {
    const bytes = await file(`whole-${size}`, randomBytes(size));
    const { id, response } = request({ file: `whole-${size}`, start: 0, end: size - 1 });
    const got = await body(await response);
    await finished.get(id);
    expect(got.error).toBeUndefined();
    expect(sha(got.bytes)).toBe(sha(bytes));
    expect(outcomes.get(id)!.sent).toBe(size);
    expect(outcomes.get(id)!.handle.fd).toBe(-1);
  });

  it('sends exactly the requested range, across chunk boundaries', async () => {
    const bytes = await file('ranged', randomBytes(3 * MiB + 17));
    for (const [start, end] of [
      [0, 0],
      [MiB - 3, MiB + 3],
      [5, 3 * MiB + 16],
      [3 * MiB + 16, 3 * MiB + 16],
    ] as const) {
      const { id, response } = request({ file: 'ranged', start, end });
      const got = await body(await response);
      await finished.get(id);
      expect(got.bytes.equals(bytes.subarray(start, end + 1))).toBe(true);
    }
  });

  it('never hands one response the bytes of another while buffers are reused (12 slow concurrent clients)', async () => {
    const files = await Promise.all(Array.from({ length: 12 }, (_, i) => file(`concurrent-${i}`, randomBytes(2 * MiB + i * 4099))));
    const requests = files.map((bytes, i) => request({ file: `concurrent-${i}`, start: 0, end: bytes.length - 1 }));
    const bodies = await Promise.all(requests.map(async ({ response }, i) => body(await response, i % 2 === 0)));
    bodies.forEach((got, i) => expect(sha(got.bytes), `client ${i}`).toBe(sha(files[i]!)));
  });

  it('stops reading and closes the file when the client goes away mid-body', async () => {
    const size = 16 * MiB;
    await file('abandoned', randomBytes(size));
    const { id, response } = request({ file: 'abandoned', start: 0, end: size - 1 });
    const res = await response;
    await new Promise((r) => res.once('data', r));
    res.destroy();
    await finished.get(id);
    expect(outcomes.get(id)!.sent).toBeLessThan(size);
    expect(outcomes.get(id)!.handle.fd).toBe(-1);
  });

  it('cuts the response short, never pads it, when the file is shorter than promised', async () => {
    const bytes = await file('shrinks', randomBytes(3 * MiB));
    const { id, response } = request({ file: 'shrinks', start: 0, end: bytes.length - 1 });
    beforeSend.set(id, () => truncate(join(dir, 'shrinks'), MiB + 5));
    const got = await body(await response);
    await finished.get(id);
    expect(got.error).toBeDefined();
    expect(got.bytes.length).toBe(MiB + 5);
    expect(got.bytes.equals(bytes.subarray(0, MiB + 5))).toBe(true);
    expect(outcomes.get(id)!.handle.fd).toBe(-1);
  });

  it('cuts the response short when the file cannot be read', async () => {
    await file('unreadable', randomBytes(1000));
    const { id, response } = request({ file: 'unreadable', start: 0, end: 999, flags: 'a' });
    // Nothing was written yet, so the client may not even get the status line.
    const got = await response.then((res) => body(res), (error: Error) => ({ bytes: Buffer.alloc(0), error }));
    await finished.get(id);
    expect(got.error).toBeDefined();
    expect(got.bytes.length).toBe(0);
    expect(outcomes.get(id)!.sent).toBe(0);
  });
});
