import { createApp } from './app/create-app.js';
import { ConfigError, loadConfig } from './config/config.js';

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
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
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
