/**
 * The member index of our archives: every gzip member records its own length (in bytes, header
 * and trailer included) in an extra field (RFC 1952 FEXTRA, like BGZF's `BC` subfield):
 *
 * ```
 * 1f 8b 08 FLG=04 MTIME(4) XFL OS | XLEN=8 (LE) | 'r' 'e' LEN=4 (LE) | member length (uint32 LE) | deflate… CRC32 ISIZE
 * ```
 *
 * gzip, GNU tar, zlib and Python skip extra fields, so the archive reads as before everywhere; a
 * restore uses the lengths to cut the file into members and inflate several at once. The lengths
 * are only a hint: every member is still inflated and CRC-checked by zlib, and a wrong length
 * makes the archive fail as corrupt, never changes what it decodes to.
 */

const FEXTRA = 0x04;
const FIXED_HEADER = 10;
const SUBFIELD = Buffer.from([0x72, 0x65, 4, 0]); // 're', LEN 4
const EXTRA = 2 + SUBFIELD.length + 4;
/** Bytes at the start of a member that {@link indexedMemberLength} needs. */
export const INDEX_PROBE_BYTES = FIXED_HEADER + EXTRA;
/** Smallest possible indexed member: header, extra field, an empty deflate block, trailer. */
const MIN_MEMBER = INDEX_PROBE_BYTES + 2 + 8;

/**
 * Adds the index to a member as Node's zlib writes it (no optional fields). A member with optional
 * fields of its own is returned unchanged (it reads as an unindexed one).
 */
export function withMemberIndex(member: Buffer): Buffer {
  if (member.length < FIXED_HEADER + 8 || member[0] !== 0x1f || member[1] !== 0x8b || member[3] !== 0) {
    return member;
  }
  const out = Buffer.allocUnsafe(member.length + EXTRA);
  member.copy(out, 0, 0, FIXED_HEADER);
  out[3] = FEXTRA;
  out.writeUInt16LE(EXTRA - 2, FIXED_HEADER);
  SUBFIELD.copy(out, FIXED_HEADER + 2);
  out.writeUInt32LE(out.length, FIXED_HEADER + 2 + SUBFIELD.length);
  member.copy(out, INDEX_PROBE_BYTES, FIXED_HEADER);
  return out;
}

/**
 * The length recorded by the member starting at `head[0]` (which must hold at least
 * {@link INDEX_PROBE_BYTES}), or undefined when it records none or an impossible one.
 */
export function indexedMemberLength(head: Buffer): number | undefined {
  if (head[0] !== 0x1f || head[1] !== 0x8b || head[2] !== 8 || ((head[3] ?? 0) & FEXTRA) === 0) return;
  if (head.readUInt16LE(FIXED_HEADER) < EXTRA - 2) return;
  if (!head.subarray(FIXED_HEADER + 2, FIXED_HEADER + 2 + SUBFIELD.length).equals(SUBFIELD)) return;
  const length = head.readUInt32LE(FIXED_HEADER + 2 + SUBFIELD.length);
  return length >= MIN_MEMBER ? length : undefined;
}
