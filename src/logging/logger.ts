import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

/** Paths removed from every log line, wherever a secret could sit in a logged object. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["x-slack-signature"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["x-rapidapi-key"]',
  'apiKey',
  'token',
  'secret',
  'password',
  '*.apiKey',
  '*.token',
  '*.secret',
  '*.password',
  '*.signingSecret',
  '*.botToken',
  '*.appToken',
];

/** Options for {@link createLogger}. */
export interface LoggerSetup {
  readonly level: string;
  /**
   * Secret values (keys, tokens) that must never appear in output. Each line is scrubbed of them
   * before it is written: the last line of defence behind redaction by path.
   */
  readonly secrets?: readonly string[];
  /** Where lines go; standard output by default. */
  readonly destination?: DestinationStream;
  readonly base?: Record<string, unknown>;
}

/** Wraps a destination so that any secret value in a line is replaced before it is written. */
export function scrubbingDestination(
  secrets: readonly string[],
  inner: DestinationStream,
): DestinationStream {
  const list = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  if (list.length === 0) return inner;
  const flushable = inner as DestinationStream & { flush?: (cb?: (err?: Error) => void) => void };
  return {
    write(line: string) {
      let out = line;
      for (const s of list) if (out.includes(s)) out = out.split(s).join('[REDACTED]');
      return inner.write(out);
    },
    flush(cb?: (err?: Error) => void) {
      if (flushable.flush) flushable.flush(cb);
      else cb?.();
    },
  } as DestinationStream;
}

/** The service's pino logger: JSON lines, secrets redacted by path and scrubbed by value. */
export function createLogger(setup: LoggerSetup): Logger {
  const options: LoggerOptions = {
    level: setup.level,
    base: { service: 'real-estate-ai', ...setup.base },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  const destination = scrubbingDestination(
    setup.secrets ?? [],
    setup.destination ?? pino.destination({ sync: false }),
  );
  return pino(options, destination);
}
