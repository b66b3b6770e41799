import type { Logger } from '../logging/logger.js';
import { AbortScope, type StopSource, signalOf } from './abort-scope.js';
import type { AgentContext } from './message.js';

/**
 * An {@link AgentContext} whose logger belongs to another object and is looked up on use (a
 * message's child logger is made only when something logs), and whose signal is made only when
 * read (see {@link AbortScope}). A class, not an object literal with
 * a `get logger()`: V8 cannot share the shape of literals that each define their own getter, and
 * such an object, with the whole message its getter's closure reaches, outlived every
 * young-generation GC until the next full one (measured on the agent benchmark).
 */
export class DerivedContext implements AgentContext {
  constructor(
    private readonly stop: StopSource,
    readonly traceId: string,
    private readonly logs: { readonly logger: Logger },
    readonly onToken: ((text: string) => void) | undefined,
    readonly prepared?: unknown,
  ) {}

  get logger(): Logger {
    return this.logs.logger;
  }

  /** The stop's AbortSignal (made on first read when the stop is a scope). */
  get signal(): AbortSignal {
    return signalOf(this.stop);
  }

  get scope(): AbortScope | undefined {
    return this.stop instanceof AbortScope ? this.stop : undefined;
  }
}
