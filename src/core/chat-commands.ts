import type { Agent, AgentAnswer, AgentContext, InboundMessage } from './message.js';

/** What "forget me" erased for one user. */
export interface ForgetOutcome {
  /** True when remembered facts existed and were deleted. */
  readonly memoryDeleted: boolean;
  /** Conversations whose recent turns were deleted. */
  readonly conversationsDeleted: number;
  /**
   * False when a store could not be reached (Redis down): what it keeps about the user is still
   * there, and the user must be told so and ask again, never told that everything went.
   */
  readonly complete: boolean;
}

/** Erases what the service keeps about a user: the HTTP route and the chat command both call it. */
export interface UserDataEraser {
  forget(userId: string): Promise<ForgetOutcome>;
}

/** A chat command: a message whose text starts with its name (`/realty-forget`). */
export type ChatCommand = (message: InboundMessage, context: AgentContext) => Promise<AgentAnswer>;

/** The chat command that erases the sender's memory and conversations. */
export const FORGET_COMMAND = '/realty-forget';

const COMMAND = /^\s*(\/[a-z][a-z0-9-]{0,40})(?=\s|$)/i;

/** The command a message's text starts with, lower-cased, or undefined. */
export function commandOf(text: string): string | undefined {
  return COMMAND.exec(text)?.[1]?.toLowerCase();
}

/**
 * Chat commands handled in the core, so every platform gets them: a message whose text is a
 * registered command runs it; any other message goes to the agent. Works whether or not a
 * language model is configured ("forget me" never depends on the model).
 */
export class ChatCommandAgent implements Agent {
  constructor(
    private readonly inner: Agent,
    private readonly commands: Readonly<Record<string, ChatCommand>>,
  ) {}

  answer(message: InboundMessage, context: AgentContext): Promise<AgentAnswer> {
    const command = this.commandFor(message);
    return command ? command(message, context) : this.inner.answer(message, context);
  }

  /** The inner agent's reads, unless the message is a command (which needs none). */
  prepare(message: InboundMessage): unknown {
    return this.commandFor(message) ? undefined : this.inner.prepare?.(message);
  }

  private commandFor(message: InboundMessage): ChatCommand | undefined {
    const name = commandOf(message.text);
    return name === undefined ? undefined : this.commands[name];
  }

  status(): ReturnType<Agent['status']> {
    return this.inner.status();
  }
}

/** `/realty-forget`: deletes the sender's memory and conversations, and says so plainly. */
export function forgetCommand(eraser: UserDataEraser): ChatCommand {
  return async (message, context) => {
    const outcome = await eraser.forget(message.userId);
    context.logger.info(
      {
        memory_deleted: outcome.memoryDeleted,
        conversations_deleted: outcome.conversationsDeleted,
        complete: outcome.complete,
      },
      'user data erased on request',
    );
    if (!outcome.complete) {
      return {
        text:
          'I deleted what I remembered about you, but I could not reach the conversation store to ' +
          'delete our conversation history. Please send /realty-forget again in a minute.',
      };
    }
    return {
      text:
        outcome.memoryDeleted || outcome.conversationsDeleted > 0
          ? 'Done: I have forgotten everything I remembered about you and deleted our conversation history.'
          : 'There was nothing to forget: I had no memory or conversation history for you.',
    };
  };
}
