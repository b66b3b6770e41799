import type { StructuredToolInterface } from '@langchain/core/tools';
import { type MarketSearchClient, marketSearchSchema } from '../../tools/market-search-client.js';
import { agentTool } from './agent-tool.js';

/** The market trends tool: a web search (cached, throttled) whose results cite their pages. */
export function marketTools(market: MarketSearchClient): StructuredToolInterface[] {
  return [
    agentTool({
      name: 'search_market_trends',
      description:
        'Search the web for US housing market data and news: home prices and their trend, inventory, days on ' +
        'market, rents, mortgage rates, forecasts, for a city, metro, state or the nation. Returns page titles, ' +
        'links, excerpts and dates, best match first. Put the place and the period in the query.',
      schema: marketSearchSchema,
      run: async (input, { signal, deadline }) => {
        const { query, results } = await market.search(input, { signal, deadline });
        return { query, results };
      },
    }),
  ];
}
