import { awaitAllCallbacks } from '@langchain/core/callbacks/promises';
import { LangChainTracer } from '@langchain/core/tracers/tracer_langchain';
import { Client } from 'langsmith';
import type { Env } from '../config/env-schema.js';
import type { Logger } from '../logging/logger.js';

/** LangSmith tracing of agent runs. */
export interface Tracing {
  /** Handed to every run as its callback: the root run's id is the message's trace id. */
  readonly tracer: LangChainTracer;
  readonly project: string;
  /** Sends every pending trace; bounded by `timeoutMs`. */
  flush(timeoutMs?: number): Promise<void>;
  /** Flushes on shutdown (the app's stop calls it). */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * The LangSmith tracer from configuration, or undefined without `LANGSMITH_TRACING=true` and a
 * `LANGSMITH_API_KEY`. The langsmith `Client` gets endpoint and key explicitly (this module never
 * reads the environment). Runs are batched in the background; {@link Tracing.close} flushes them.
 */
export function createTracing(env: Env, logger: Logger): Tracing | undefined {
  if (!env.LANGSMITH_TRACING) return undefined;
  if (!env.LANGSMITH_API_KEY) {
    logger.warn('LANGSMITH_TRACING is on but LANGSMITH_API_KEY is not set: tracing stays off');
    return undefined;
  }
  const client = new Client({
    apiUrl: env.LANGSMITH_ENDPOINT,
    apiKey: env.LANGSMITH_API_KEY,
    autoBatchTracing: true,
  });
  const tracer = new LangChainTracer({ client, projectName: env.LANGSMITH_PROJECT });
  const log = logger.child({ component: 'tracing' });
  log.info({ endpoint: env.LANGSMITH_ENDPOINT, project: env.LANGSMITH_PROJECT }, 'LangSmith tracing on');
  let closed: Promise<void> | undefined;
  const flush = async (timeoutMs = 5000) => {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const work = (async () => {
      await awaitAllCallbacks();
      await client.awaitPendingTraceBatches();
    })().catch((err: unknown) =>
      log.warn({ err: { message: (err as Error)?.message } }, 'trace flush failed'),
    );
    const outcome = await Promise.race([work, bound]);
    clearTimeout(timer);
    if (outcome === 'timeout') log.warn({ timeout_ms: timeoutMs }, 'traces not all sent before the timeout');
  };
  return {
    tracer,
    project: env.LANGSMITH_PROJECT,
    flush,
    close(timeoutMs) {
      closed ??= flush(timeoutMs);
      return closed;
    },
  };
}
