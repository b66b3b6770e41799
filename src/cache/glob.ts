/**
 * Redis-style glob patterns (`*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\x`) as regular expressions,
 * so the memory store clears exactly what `SCAN MATCH` clears in Redis.
 */
export function globToRegExp(pattern: string): RegExp {
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else if (c === '\\' && i + 1 < pattern.length) out += escapeChar(pattern[++i] as string);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        out += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      out += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = end;
    } else out += escapeChar(c);
  }
  return new RegExp(`${out}$`);
}

function escapeChar(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** True when `s` holds an ASCII control character (C0 or DEL). */
function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Patterns a caller may pass to cache clearing: printable, bounded, no control characters. */
export function assertValidPattern(pattern: string): void {
  if (
    typeof pattern !== 'string' ||
    pattern.length === 0 ||
    pattern.length > 256 ||
    hasControlCharacter(pattern)
  ) {
    throw new RangeError('cache pattern must be 1-256 printable characters, e.g. "realty_us:*" or "*"');
  }
}
