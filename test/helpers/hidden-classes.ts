/**
 * Run by test/unit/ls-params.test.ts as `node --allow-natives-syntax --import tsx <this file>`:
 * asks V8 itself (%HaveSameMap) whether two results of the same call share a hidden class, and
 * prints the answers as JSON. TypeScript cannot parse `%` syntax, so it is compiled at run time.
 */
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { offlineChatModel } from './chat-model.js';

const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

const orchestrator = offlineChatModel();
const options = {} as never;
const langchain = () => BaseChatModel.prototype.getLsParamsWithDefaults.call(orchestrator, options);
// Steady state, as in a running service: inline caches warmed up, functions optimised.
for (let i = 0; i < 5000; i++) {
  orchestrator.getLsParamsWithDefaults(options);
  langchain();
}

console.log(
  JSON.stringify({
    ours: haveSameMap(
      orchestrator.getLsParamsWithDefaults(options),
      orchestrator.getLsParamsWithDefaults(options),
    ),
    langchain: haveSameMap(langchain(), langchain()),
  }),
);
