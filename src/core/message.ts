import type { Logger } from 'pino';
import type { AbortScope } from './abort-scope.js';

/** The chat platforms that feed the core. The core never branches on this value; it is a label. */
export type Platform = 'http' | 'slack' | 'discord' | (string & {});

/** A message from any platform, in the core's own shape. */
export interface InboundMessage {
  readonly platform: Platform;
  /**
   * Namespaced user id, unique across platforms and tenants:
   * `http:<key-name>:<user_id>`, `slack:<team>:<user>`, `discord:<user>`.
   */
  readonly userId: string;
  /** Conversation the message belongs to (a thread, a channel, or a client-chosen id). */
  readonly conversationId: string;
  readonly text: string;
  /** Platform-side id of this message (event id, interaction id), when there is one. */
  readonly externalId?: string;
  /** The limit key's scope beyond the platform, e.g. the API key name. */
  readonly tenant?: string;
}

/** The core's answer to a message. */
export interface Reply {
  readonly text: string;
  readonly conversationId: string;
  /** Id of the agent run: the LangSmith run id when tracing, and in every log line of the message. */
  readonly traceId: string;
  /** True when the answer came from a cache (an idempotent replay or a safe cached answer). */
  readonly cached: boolean;
}

/** What an agent gets besides the message. */
export interface AgentContext {
  /** Aborts when the client goes away, the time budget runs out or the service shuts down. */
  readonly signal: AbortSignal;
  /**
   * The same stop as `signal`, as the core's {@link AbortScope}, when the caller has one: an agent
   * that listens here makes no AbortSignal (see abort-scope.ts). `signal` is then made on first read.
   */
  readonly scope?: AbortScope;
  readonly traceId: string;
  readonly logger: Logger;
  /** When present the caller wants the answer streamed: called with each text fragment as it arrives. */
  readonly onToken?: (text: string) => void;
  /** What the agent's {@link Agent.prepare} returned for this message, when it was called. */
  readonly prepared?: unknown;
}

/** What an agent returns. */
export interface AgentAnswer {
  readonly text: string;
  /** True when the agent reused a cached answer. */
  readonly cached?: boolean;
}

/**
 * The assistant behind every platform. One method serves both modes: it answers once,
 * and when `context.onToken` is given it also streams the answer's text as it is produced.
 */
export interface Agent {
  answer(message: InboundMessage, context: AgentContext): Promise<AgentAnswer>;
  /**
   * Optional: starts the reads that answering `message` begins with (nothing that changes any
   * state), so that they travel to Redis with the rate-limit check instead of one round trip after
   * it. The pipeline calls it before the rate limit has decided and hands the result to `answer`
   * as `context.prepared`; a refused message's reads are dropped, so they must never reject
   * unobserved.
   */
  prepare?(message: InboundMessage): unknown;
  /** Health of the model behind the agent. */
  status(): 'configured' | 'not_configured' | 'failing';
}
