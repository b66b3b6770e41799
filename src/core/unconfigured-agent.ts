import { AppError } from './errors.js';
import type { Agent, AgentAnswer } from './message.js';

/** The agent wired while no language model is configured: every message gets 503 `llm_not_configured`. */
export class UnconfiguredAgent implements Agent {
  async answer(): Promise<AgentAnswer> {
    throw new AppError(
      'llm_not_configured',
      'The assistant has no language model configured: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local OpenAI-compatible server)',
    );
  }

  status(): 'not_configured' {
    return 'not_configured';
  }
}
