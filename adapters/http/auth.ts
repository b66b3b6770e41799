import { hash, timingSafeEqual } from 'node:crypto';
import type { ApiKey } from '../../src/config/config.js';

/** Query parameters that look like credentials: refused, because URLs end up in logs and histories. */
export const CREDENTIAL_QUERY_PARAMS = ['api_key', 'apikey', 'key', 'token', 'access_token', 'auth'];

/**
 * Looks API keys up in constant time: every configured key is compared (as SHA-256 digests of
 * equal length) whatever the input, so timing tells nothing about how much of a key matched.
 */
export class ApiKeyRegistry {
  private readonly entries: { key: ApiKey; digest: Buffer }[];

  constructor(keys: readonly ApiKey[]) {
    this.entries = keys.map((key) => ({ key, digest: digest(key.secret) }));
  }

  get size(): number {
    return this.entries.length;
  }

  /** The key matching `candidate`, or undefined. */
  find(candidate: string): ApiKey | undefined {
    const d = digest(candidate);
    let found: ApiKey | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.digest, d) && found === undefined) found = e.key;
    return found;
  }
}

function digest(s: string): Buffer {
  return hash('sha256', s, 'buffer');
}

/** The credential a request presents: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
    return m?.[1];
  }
  const x = headers['x-api-key'];
  return typeof x === 'string' && x.length > 0 ? x.trim() : undefined;
}
