/**
 * An in-process chat model for bench/agent-overhead.bench.ts: answers at once (no network), as
 * the real agent's models would in a listing search. Bound to the orchestrator's tools it
 * delegates to property research, then answers; bound to property research's tools it searches,
 * then answers. Reports usage like a real model.
 */
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import { BaseChatModel, type LangSmithParams } from '@langchain/core/language_models/chat_models';
import { AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import type { StructuredToolInterface } from '@langchain/core/tools';
import { lsParamsWithDefaults } from '../src/agent/model-factory.js';

type Role = 'orchestrator' | 'property' | 'plain';

/** The search the property researcher makes (identical each time: the Realty cache answers). */
export const BENCH_SEARCH = { city: 'Austin', state: 'TX', minBeds: 3, maxPrice: 500_000 };

/** A zero-latency scripted model with tool calling. */
export class BenchChatModel extends BaseChatModel {
  readonly role: Role;
  calls = 0;

  constructor(role: Role = 'plain') {
    super({});
    this.role = role;
  }

  _llmType(): string {
    return 'bench';
  }

  /** As the service's ChatOpenAI does it (src/agent/model-factory.ts). */
  override getLsParamsWithDefaults(options: this['ParsedCallOptions']): LangSmithParams {
    return lsParamsWithDefaults(this.getLsParams(options));
  }

  override bindTools(tools: StructuredToolInterface[]): BenchChatModel {
    const names = tools.map((t) => t.name);
    return new BenchChatModel(
      names.includes('delegate')
        ? 'orchestrator'
        : names.includes('search_homes_for_sale')
          ? 'property'
          : 'plain',
    );
  }

  /** What this model answers to `messages`. */
  reply(messages: BaseMessage[]): AIMessage {
    const afterTool = messages.at(-1)?.getType() === 'tool';
    const usage = { input_tokens: 200, output_tokens: 20, total_tokens: 220 };
    const call = (name: string, args: Record<string, unknown>) =>
      new AIMessage({
        content: '',
        tool_calls: [{ name, args, id: `call_${this.calls}`, type: 'tool_call' }],
        usage_metadata: usage,
      });
    if (this.role === 'orchestrator' && !afterTool)
      return call('delegate', {
        assistant: 'property_research',
        task: '3-bed homes in Austin, TX under 500k',
      });
    if (this.role === 'property' && !afterTool) return call('search_homes_for_sale', BENCH_SEARCH);
    return new AIMessage({
      content: 'The best match is 4512 Avenue F, Austin, TX at $449,000.',
      usage_metadata: usage,
    });
  }

  async _generate(
    messages: BaseMessage[],
    _options: this['ParsedCallOptions'],
    _runManager?: CallbackManagerForLLMRun,
  ): Promise<ChatResult> {
    this.calls++;
    const message = this.reply(messages);
    return { generations: [{ text: typeof message.content === 'string' ? message.content : '', message }] };
  }
}
