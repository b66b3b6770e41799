/**
 * Decodes one 512-byte tar header (ustar, GNU and pax-extended archives) into the few fields a
 * restore uses: type, path, size and whether the checksum holds. The `tar` package's `Header`
 * decodes every field into strings and dates, which made a third of a restore's allocation on the
 * main thread; this reads only what {@link TarReader} needs, straight from the buffer.
 *
 * It trusts nothing: a number field that is not octal (or base-256) gives `undefined`, never a
 * guess, and the path it returns is only a string that the reader then checks (entry-path.ts).
 */

/** Fields of a pax extended header (or a GNU long name) that apply to the next entry. */
export interface PendingFields {
  readonly path?: string;
  readonly size?: number;
}

/** One decoded header. */
export interface TarHeader {
  /** The type by name, as the `tar` package names them ('File', 'Directory', 'SymbolicLink', …). */
  readonly type: string;
  readonly path: string;
  /** Undefined when the size field is empty or not a number. */
  readonly size: number | undefined;
  readonly cksumValid: boolean;
}

/** Type flags by name. Anything else is 'Unsupported'. */
const TYPES: ReadonlyMap<number, string> = new Map(
  Object.entries({
    '0': 'File',
    // An old-style file (a NUL flag); one whose name ends in `/` is a folder.
    '\0': 'File',
    '1': 'Link',
    '2': 'SymbolicLink',
    '3': 'CharacterDevice',
    '4': 'BlockDevice',
    '5': 'Directory',
    '6': 'FIFO',
    '7': 'ContiguousFile',
    g: 'GlobalExtendedHeader',
    x: 'ExtendedHeader',
    A: 'SolarisACL',
    D: 'GNUDumpDir',
    I: 'Inode',
    K: 'NextFileHasLongLinkpath',
    L: 'NextFileHasLongPath',
    M: 'ContinuationFile',
    N: 'OldGnuLongPath',
    S: 'SparseFile',
    V: 'TapeVolumeHeader',
    X: 'OldExtendedHeader',
  }).map(([flag, name]) => [flag.charCodeAt(0), name]),
);

/** Entries that are files, folders, links or devices: what pending pax fields describe. */
const FS_TYPES = new Set([0x30, 0x00, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x44]);

const SPACE = 0x20;
const ZERO = 0x30;
const SEVEN = 0x37;

/** The NUL-terminated UTF-8 string in `[from, from + length)`. */
function text(b: Buffer, from: number, length: number): string {
  let end = from;
  const max = from + length;
  while (end < max && b[end] !== 0) end++;
  return end === from ? '' : b.toString('utf8', from, end);
}

/**
 * The number in `[from, from + length)`: octal digits after optional spaces, ended by a space or
 * NUL with only spaces and NULs after them; or GNU base-256 (first byte 0x80, positive only).
 * Undefined when the field is empty, malformed, negative or beyond a safe integer.
 */
export function numberField(b: Buffer, from: number, length: number): number | undefined {
  const end = from + length;
  if (b[from] === 0x80) {
    let value = 0;
    for (let i = from + 1; i < end; i++) {
      value = value * 256 + (b[i] as number);
      if (value > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return value;
  }
  let i = from;
  while (i < end && b[i] === SPACE) i++;
  let value = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i] as number;
    if (c < ZERO || c > SEVEN) break;
    value = value * 8 + (c - ZERO);
    digits++;
  }
  if (digits === 0) return undefined;
  for (; i < end; i++) if (b[i] !== SPACE && b[i] !== 0) return undefined;
  return value;
}

/** True when the header's checksum field matches the sum of its bytes (the field read as spaces). */
function checksumHolds(b: Buffer, off: number): boolean {
  const stored = numberField(b, off + 148, 8);
  if (stored === undefined) return false;
  let sum = 8 * SPACE;
  for (let i = off; i < off + 148; i++) sum += b[i] as number;
  for (let i = off + 156; i < off + 512; i++) sum += b[i] as number;
  return sum === stored;
}

/** True for the POSIX ustar magic and version (`ustar\0` `00`); GNU's `ustar  \0` has no prefix field. */
function isPosixUstar(b: Buffer, off: number): boolean {
  const m = off + 257;
  return (
    b[m] === 0x75 &&
    b[m + 1] === 0x73 &&
    b[m + 2] === 0x74 &&
    b[m + 3] === 0x61 &&
    b[m + 4] === 0x72 &&
    b[m + 5] === 0 &&
    b[m + 6] === ZERO &&
    b[m + 7] === ZERO
  );
}

/**
 * Decodes the header at `b[off]` (512 bytes must be there). `pending` holds the fields of a
 * preceding pax `x` header or GNU long name, `global` those of a pax `g` header; both apply only
 * to a file-system entry, never to another extension header, and a global header never sets the
 * path. A pax path replaces the name and the ustar prefix; an old-style file whose name ends in
 * `/` is a folder, and a folder has no content whatever its size field says.
 */
export function decodeHeader(
  b: Buffer,
  off: number,
  pending?: PendingFields,
  global?: PendingFields,
): TarHeader {
  if (b.length < off + 512) throw new RangeError('a tar header needs 512 bytes');
  const flag = b[off + 156] as number;
  let type = TYPES.get(flag) ?? 'Unsupported';
  const applies = FS_TYPES.has(flag);
  let path = applies ? pending?.path : undefined;
  if (path === undefined) {
    path = text(b, off, 100);
    if (isPosixUstar(b, off)) {
      // A prefix of 155 bytes, or of 130 when star's access and change times follow it.
      const prefix = text(b, off + 345, b[off + 475] !== 0 ? 155 : 130);
      if (prefix) path = `${prefix}/${path}`;
    }
  }
  let size = (applies ? (pending?.size ?? global?.size) : undefined) ?? numberField(b, off + 124, 12);
  if (type === 'File' && path.endsWith('/')) type = 'Directory';
  if (type === 'Directory') size = 0;
  return { type, path, size, cksumValid: checksumHolds(b, off) };
}
