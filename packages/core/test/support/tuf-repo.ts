/**
 * Test harness: a real, signed TUF repository (root, targets, snapshot, timestamp; consistent snapshots, as the
 * Sigstore public-good repository) built with @tufjs/models — the metadata classes tuf-js itself verifies with —
 * and served by a node:http server on a random loopback port. Each role has its own ed25519 key.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Key, Metadata, MetaFile, Root, Signature, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';

type RoleName = 'root' | 'targets' | 'snapshot' | 'timestamp';
interface RoleKey { key: Key; privateKey: KeyObject }

const FAR = '2099-01-01T00:00:00Z';

function newKey(): RoleKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('hex');
  const keyID = createHash('sha256').update(raw).digest('hex');
  return { key: new Key({ keyID, keyType: 'ed25519', scheme: 'ed25519', keyVal: { public: raw } }), privateKey };
}

function signer(roleKey: RoleKey) {
  return (data: Buffer) => new Signature({ keyID: roleKey.key.keyID, sig: sign(null, data, roleKey.privateKey).toString('hex') });
}

export interface TufRepoVersion {
  targetBytes: Buffer;
  version: number;
  timestampVersion?: number;
  /** Sign this role with a key the root does not list. */
  wrongKeyFor?: RoleName;
  expires?: Partial<Record<RoleName, string>>;
  /** Serve other bytes at the target's URL than the ones the targets metadata hashes. */
  tamperTarget?: Buffer;
  /** Declare this target length in the signed metadata (with the real hash). */
  declaredLength?: number;
}

export class TufRepo {
  readonly keys: Record<RoleName, RoleKey> = { root: newKey(), targets: newKey(), snapshot: newKey(), timestamp: newKey() };
  readonly rootJson: Buffer;
  /** URL path → bytes. */
  files = new Map<string, Buffer>();
  requests: string[] = [];
  private server: Server | undefined;
  url = '';

  constructor() {
    const root = new Root({ version: 1, specVersion: '1.0.31', expires: FAR, consistentSnapshot: true });
    for (const role of Object.keys(this.keys) as RoleName[]) root.addKey(this.keys[role].key, role);
    const metadata = new Metadata(root);
    metadata.sign(signer(this.keys.root));
    this.rootJson = Buffer.from(JSON.stringify(metadata.toJSON()));
  }

  /** Replaces what the repository serves with a new version of the targets, snapshot and timestamp. */
  publish(options: TufRepoVersion): void {
    const { version } = options;
    const sha256 = createHash('sha256').update(options.targetBytes).digest('hex');
    const wrong = newKey();
    const signAs = (role: RoleName) => signer(options.wrongKeyFor === role ? wrong : this.keys[role]);
    const targets = new Metadata(new Targets({
      version, specVersion: '1.0.31', expires: options.expires?.targets ?? FAR,
      targets: { 'trusted_root.json': new TargetFile({ path: 'trusted_root.json', length: options.declaredLength ?? options.targetBytes.length, hashes: { sha256 } }) },
    }));
    targets.sign(signAs('targets'));
    const targetsBytes = Buffer.from(JSON.stringify(targets.toJSON()));
    const snapshot = new Metadata(new Snapshot({ version, specVersion: '1.0.31', expires: options.expires?.snapshot ?? FAR, meta: { 'targets.json': new MetaFile({ version }) } }));
    snapshot.sign(signAs('snapshot'));
    const snapshotBytes = Buffer.from(JSON.stringify(snapshot.toJSON()));
    const timestamp = new Metadata(new Timestamp({
      version: options.timestampVersion ?? version, specVersion: '1.0.31', expires: options.expires?.timestamp ?? FAR,
      snapshotMeta: new MetaFile({ version }),
    }));
    timestamp.sign(signAs('timestamp'));
    this.files = new Map([
      ['/1.root.json', this.rootJson],
      ['/timestamp.json', Buffer.from(JSON.stringify(timestamp.toJSON()))],
      [`/${version}.snapshot.json`, snapshotBytes],
      [`/${version}.targets.json`, targetsBytes],
      [`/targets/${sha256}.trusted_root.json`, options.tamperTarget ?? options.targetBytes],
    ]);
  }

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      this.requests.push(request.url ?? '');
      const body = this.files.get(request.url ?? '');
      if (!body) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
