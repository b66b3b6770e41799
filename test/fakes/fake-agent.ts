import type { Agent, AgentAnswer, AgentContext, InboundMessage } from '../../src/core/message.js';

type Behaviour = (message: InboundMessage, context: AgentContext) => Promise<AgentAnswer>;

/** An injected agent for tests: records every call and answers as told. */
export class FakeAgent implements Agent {
  readonly calls: InboundMessage[] = [];
  constructor(private readonly behaviour: Behaviour = async (m) => ({ text: `echo: ${m.text}` })) {}

  async answer(message: InboundMessage, context: AgentContext): Promise<AgentAnswer> {
    this.calls.push(message);
    return this.behaviour(message, context);
  }

  status(): 'configured' {
    return 'configured';
  }
}

/** Answers after `ms`, or rejects as soon as the signal aborts. */
export function delayed(ms: number, text = 'late answer'): Behaviour {
  return (_m, ctx) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve({ text }), ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(ctx.signal.reason);
      });
    });
}

/** Streams `parts` one by one through `onToken`, then answers with their concatenation. */
export function streaming(parts: string[], gapMs = 5): Behaviour {
  return async (_m, ctx) => {
    for (const p of parts) {
      await new Promise((r) => setTimeout(r, gapMs));
      ctx.onToken?.(p);
    }
    return { text: parts.join('') };
  };
}
