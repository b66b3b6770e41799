import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { scanUnlink } from '../../src/cache/cache.js';

/** A client whose connection drops after the first SCAN: the queued UNLINK fails, then the next SCAN. */
function droppingClient(): Redis {
  let scans = 0;
  const closed = () => new Error('Connection is closed.');
  return {
    scan: async () => {
      scans++;
      if (scans > 1) throw closed();
      return ['17', ['cache:realty_us:a', 'cache:realty_us:b']];
    },
    unlink: () => new Promise((_, reject) => setTimeout(() => reject(closed()), 5)),
  } as unknown as Redis;
}

describe('scanUnlink when the connection drops midway', () => {
  it('rejects once with the error, leaving no UNLINK rejecting unobserved', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(scanUnlink(droppingClient(), 'cache:realty_us:*', 1000, 4)).rejects.toThrow(
        'Connection is closed.',
      );
      await new Promise((r) => setTimeout(r, 50)); // the UNLINK has failed by now
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
