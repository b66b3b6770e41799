import { createApp } from './app/create-app.js';
import { ConfigError, loadConfig } from './config/config.js';

/** A signal repeated sooner than this after the first is the same request to stop, not a second one. */
const REPEAT_SIGNAL_GRACE_MS = 1000;

/** The composition root: read configuration, build the service, run it until a signal. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`real-estate-ai: ${err.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const app = createApp(config);
  const log = app.core.logger;
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception: stopping');
    void app.stop().finally(() => process.exit(1));
  });
  // Ctrl-C in a terminal reaches node twice under `npm start` (the process group's SIGINT, and
  // npm passing its own on) within milliseconds: only a repeat after a moment means "exit now".
  let firstSignalAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignalAt !== undefined) {
      if (Date.now() - firstSignalAt < REPEAT_SIGNAL_GRACE_MS) return;
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    firstSignalAt = Date.now();
    log.info({ signal }, 'signal received');
    void app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await app.start();
  } catch (err) {
    log.fatal({ err }, 'start-up failed');
    await app.stop().catch(() => undefined);
    process.exit(1);
  }
}

void main();
