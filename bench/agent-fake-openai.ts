/**
 * Child process of bench/agent-overhead.bench.ts: the OpenAI fake (test/fakes/openai-server.ts),
 * answering every chat completion after `argv[2]` ms (default 2000). Prints its base URL, then
 * serves until killed, so its sockets and JSON work never land on the measured event loop.
 */
import { OpenAiFake } from '../test/fakes/openai-server.js';

const delayMs = Number(process.argv[2] ?? '2000');
const fake = await OpenAiFake.start();
fake.setDefault({ content: 'Here is a short answer from the slow fake model.', delayMs });
process.stdout.write(`${fake.baseUrl}\n`);
process.on('SIGTERM', () => void fake.close().then(() => process.exit(0)));
