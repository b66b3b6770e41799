/**
 * Child process for the crash-safety test: writes memories and reports as fast as it can, forever,
 * until it is killed. Prints "ready" once the first write has landed.
 * Usage: node --import tsx test/helpers/memory-writer.ts <dataDir> (the test runs it transpiled, with bare node).
 */
import { createHash, randomBytes } from 'node:crypto';
import { FileDataStore } from '../../src/data/file-data-store.js';
import type { Logger } from '../../src/logging/logger.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: memory-writer <dataDir>');
const silent = { child: () => silent, info: () => undefined, warn: () => undefined } as unknown as Logger;
const store = new FileDataStore({ dataDir, logger: silent });
const users = ['slack:T1:U1', 'slack:T1:U2', 'discord:99', 'http:alpha:ü-user'];
let announced = false;
for (let round = 0; ; round++) {
  for (const user of users) {
    await store.updateMemory(user, (cur) => {
      const counter = ((cur?.counter as number | undefined) ?? 0) + 1;
      // Sizes vary up to ~300 KB so that writes take long enough to be interrupted half-way.
      const blob = randomBytes(1 + Math.floor(Math.random() * 220_000)).toString('base64');
      return { counter, blob, digest: createHash('sha256').update(blob).digest('hex') };
    });
  }
  if (round % 3 === 0) {
    const body = randomBytes(1 + Math.floor(Math.random() * 100_000)).toString('hex');
    await store.writeReport({
      title: `report ${round}`,
      author: users[round % users.length] as string,
      body: `${createHash('sha256').update(body).digest('hex')}\n${body}`,
    });
  }
  if (!announced) {
    announced = true;
    process.stdout.write('ready\n');
  }
}
