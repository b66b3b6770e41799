import { createChatModels, type ToolCallingModel } from '../../src/agent/model-factory.js';
import type { Upstream } from '../../src/upstream/upstream.js';

/**
 * The service's chat model (as `createChatModels` makes it) for tests that never call it: its
 * base URL is a closed port and its fetch is plain `fetch`, not an `llm` upstream.
 */
export function offlineChatModel(model = 'gpt-x'): ToolCallingModel {
  return createChatModels(
    { apiKey: 'sk-offline-test', baseUrl: 'http://127.0.0.1:9/v1', model, subagentModel: model },
    { fetch: globalThis.fetch } as unknown as Upstream,
  ).orchestrator;
}
