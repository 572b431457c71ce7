import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { verifyTimestampToken } from './src/notation/timestamp/verify-timestamp.ts';
const e = JSON.parse(readFileSync('/work/shared/fixtures/notation/jwsWithTimestamp.sig','utf8'));
const token = Buffer.from(e.header['io.cncf.notary.timestampSignature'], 'base64');
const sig = Buffer.from(e.signature, 'base64url');
const roots = [new X509Certificate(readFileSync('/work/shared/fixtures/notation/tsa-globalsignRoot.cer'))];
verifyTimestampToken(token, sig, roots);
const ok: number[] = [];
for (let i = 0; i < token.length; i++) for (const bit of [1, 2, 4, 8, 16, 32, 64, 128]) { const c = Buffer.from(token); c[i] ^= bit; try { verifyTimestampToken(c, sig, roots); ok.push(i); } catch {} }
console.log(ok.length, [...new Set(ok)].filter(i => i < 4990 && !(i >= 3575 && i < 4990)).slice(0, 50), Math.min(...ok), Math.max(...ok));
