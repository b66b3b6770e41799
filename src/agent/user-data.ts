import type { ForgetOutcome, UserDataEraser } from '../core/chat-commands.js';
import type { Logger } from '../logging/logger.js';
import type { ConversationStore } from './conversation-store.js';
import type { UserMemory } from './user-memory.js';

/**
 * "Forget me": deletes the user's remembered facts (the data store's memory file) and every one
 * of their conversations (Redis and memory). Reports the user asked for are kept: they are
 * documents, listed and deleted on their own. The token budget's counter is kept too (it is
 * accounting, and forgetting it would reset the day's allowance).
 */
export class UserData implements UserDataEraser {
  constructor(
    private readonly deps: { memory: UserMemory; conversations: ConversationStore; logger: Logger },
  ) {}

  async forget(userId: string): Promise<ForgetOutcome> {
    // Conversations first: erasing them marks the erasure, which a fact being remembered by a
    // message still running checks under the memory record's lock (see UserMemory.remember).
    const conversations = await this.deps.conversations.eraseUser(userId);
    const memoryDeleted = await this.deps.memory.erase(userId);
    if (!conversations.redisReachable)
      this.deps.logger.warn(
        'forget: Redis unreachable, conversations erased from memory only; the user is told to ask again',
      );
    return {
      memoryDeleted,
      conversationsDeleted: conversations.deleted,
      complete: conversations.redisReachable,
    };
  }
}
