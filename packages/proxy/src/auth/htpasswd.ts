import { createHmac, randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import bcrypt from 'bcryptjs';
import { TollgateError } from '@tollgate/core';

/** htpasswd files are small; anything bigger is a mistake. */
export const MAX_HTPASSWD_BYTES = 4 * 1024 * 1024;
/** bcrypt as htpasswd -B writes it ($2y$) and as other tools do ($2a$, $2b$). */
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
/** How long a verified user/password pair is remembered (bcrypt is slow on purpose; clients send Basic on every request). */
const VERIFIED_TTL_MS = 5 * 60_000;
const MAX_REMEMBERED = 1024;

/**
 * Users and bcrypt hashes from an htpasswd file (distribution's format: `user:$2y$…`, bcrypt only). Verification
 * costs the same for unknown users (a dummy hash is compared), and successful checks are remembered for a few
 * minutes under an HMAC of the pair with a per-process key (the password itself is never kept).
 */
export class Htpasswd {
  private readonly remembered = new Map<string, number>();
  private readonly hmacKey = randomBytes(32);

  private dummyHash: string | undefined;

  private constructor(
    private readonly users: Map<string, string>,
    private readonly cost: number,
  ) {}

  /** A hash of a random password at the file's cost, made on first use. */
  private get dummy(): string {
    this.dummyHash ??= bcrypt.hashSync(randomBytes(16).toString('hex'), bcrypt.genSaltSync(this.cost));
    return this.dummyHash;
  }

  static async load(file: string): Promise<Htpasswd> {
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch {
      throw new TollgateError('INVALID_CONFIG', `cannot read the htpasswd file ${file}; create it with htpasswd -cB ${file} <user>`);
    }
    if (size > MAX_HTPASSWD_BYTES) throw new TollgateError('INVALID_CONFIG', `the htpasswd file ${file} is over 4 MiB; it is not an htpasswd file`);
    return Htpasswd.parse(await readFile(file, 'utf8'), file);
  }

  static parse(text: string, name = 'htpasswd'): Htpasswd {
    const users = new Map<string, string>();
    let cost = 10;
    text.split('\n').forEach((raw, i) => {
      const line = raw.replace(/\r$/, '').trim();
      if (line === '' || line.startsWith('#')) return;
      const colon = line.indexOf(':');
      const user = line.slice(0, colon);
      const hash = line.slice(colon + 1);
      const match = BCRYPT.exec(hash);
      if (colon <= 0 || !/^[^\s:]{1,256}$/.test(user)) throw new TollgateError('INVALID_CONFIG', `${name} line ${i + 1} is not "user:hash"; write entries with htpasswd -B`);
      if (!match) throw new TollgateError('INVALID_CONFIG', `${name} line ${i + 1} (user ${user.slice(0, 64)}) is not a bcrypt hash; only bcrypt is supported: htpasswd -B ${name} ${user.slice(0, 64)}`);
      if (users.has(user)) throw new TollgateError('INVALID_CONFIG', `${name} lists user ${user.slice(0, 64)} twice (line ${i + 1}); keep one entry`);
      users.set(user, hash);
      cost = Number(match[1]);
    });
    return new Htpasswd(users, Math.min(Math.max(cost, 4), 14));
  }

  get size(): number {
    return this.users.size;
  }

  /** Whether the password is the user's. */
  async verify(user: string, password: string): Promise<boolean> {
    if (user.length > 256 || password.length > 1024) return false;
    const tag = createHmac('sha256', this.hmacKey).update(user).update('\0').update(password).digest('base64');
    const until = this.remembered.get(tag);
    if (until !== undefined && until > Date.now()) return true;
    const hash = this.users.get(user);
    // bcrypt truncates at 72 bytes, as htpasswd does; compare against a dummy for unknown users (same cost).
    const ok = await bcrypt.compare(password, hash ?? this.dummy);
    if (!ok || hash === undefined) return false;
    if (this.remembered.size >= MAX_REMEMBERED) this.remembered.delete(this.remembered.keys().next().value!);
    this.remembered.set(tag, Date.now() + VERIFIED_TTL_MS);
    return true;
  }
}
