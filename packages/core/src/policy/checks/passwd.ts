/**
 * Looking a user name up in an image's /etc/passwd the way container runtimes do (runc and containerd read the
 * file themselves, not through NSS): `name:password:uid:gid:...` lines, the FIRST line naming the user wins.
 *
 * Runtimes differ in small ways, and a difference is a bypass when it lets us read a different line than they do.
 * So the lookup fails closed where they could disagree:
 * - Names are compared as bytes (the file is read as latin1, the user as its UTF-8 bytes), never after decoding.
 * - Blank lines and `#` comments are skipped (glibc skips comments; runc reads `#app` as a name, never `app`).
 * - A line is trimmed of ASCII whitespace only; if the first line that names the user under a looser trim (Unicode
 *   whitespace, as Go's bytes.TrimSpace does for valid UTF-8) is not also an exact match, the answer is ambiguous.
 * - If that first line has no uid field, or one that is not a plain decimal number within runc's range, it is
 *   unusable, and later lines are NOT consulted: runc reads a missing or malformed uid as 0.
 */
export type PasswdLookup =
  | { kind: 'uid'; uid: number; line: number }
  | { kind: 'missing' }
  | { kind: 'unusable'; line: number; why: string };

/** runc refuses uids above this (user.maxID); a larger number is never a uid a container runs as. */
export const MAX_UID = 2 ** 31 - 1;

const ASCII_SPACE = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g;
/** JavaScript's \s plus U+0085 (NEL): a superset of what Go's unicode.IsSpace accepts. */
const LOOSE_LEADING_SPACE = /^[\s\u0085]+/;

export function lookupPasswdUser(content: Uint8Array, user: string): PasswdLookup {
  const bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  const key = Buffer.from(user, 'utf8').toString('latin1');
  const lines = bytes.toString('latin1').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const strict = raw.replace(ASCII_SPACE, '');
    const exact = strict !== '' && !strict.startsWith('#') && strict.split(':', 1)[0] === key;
    if (!exact && !namesLoosely(raw, key, user)) continue;
    const line = i + 1;
    if (!exact) return { kind: 'unusable', line, why: `line ${line} names it only after unusual whitespace, which runtimes read differently` };
    const uidField = strict.split(':')[2];
    if (uidField === undefined) return { kind: 'unusable', line, why: `its first entry (line ${line}) has no uid field` };
    if (!/^[0-9]+$/.test(uidField) || Number(uidField) > MAX_UID) {
      return { kind: 'unusable', line, why: `its first entry (line ${line}) has uid ${JSON.stringify(uidField.slice(0, 32))}, not a plain decimal number up to ${MAX_UID}` };
    }
    return { kind: 'uid', uid: Number(uidField), line };
  }
  return { kind: 'missing' };
}

/** Whether some runtime might read this line as naming the user: a looser trim, as bytes or as UTF-8. */
function namesLoosely(raw: string, key: string, user: string): boolean {
  const name = (text: string) => text.replace(LOOSE_LEADING_SPACE, '').split(':', 1)[0];
  if (name(raw) === key) return true;
  return name(Buffer.from(raw, 'latin1').toString('utf8')) === user;
}
