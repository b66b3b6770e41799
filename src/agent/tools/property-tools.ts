import type { StructuredToolInterface } from '@langchain/core/tools';
import type { ListingSearchResult, RealtyClient } from '../../tools/realty-client.js';
import { realtySearchSchema } from '../../tools/realty-client.js';
import { agentTool } from './agent-tool.js';

/** A search result as the model sees it: the listings and their count, without bookkeeping. */
function forModel(result: ListingSearchResult) {
  return {
    kind: result.kind,
    location: result.location,
    page: result.page,
    total: result.total,
    listings: result.listings.map((l) => ({
      id: l.id,
      address: l.address,
      price: l.price,
      beds: l.beds,
      baths: l.baths,
      sqft: l.sqft,
      type: l.type,
      status: l.status,
      link: l.link,
      photo: l.photo,
    })),
  };
}

/** The property research tools: Realty US listing search, for sale and for rent (cached, single-flight). */
export function propertyTools(realty: RealtyClient): StructuredToolInterface[] {
  return [
    agentTool({
      name: 'search_homes_for_sale',
      description:
        'Search US homes for sale in one city (Realty US listings). Filters: price range in dollars, minimum ' +
        'bedrooms and bathrooms, property types, sort order. Returns address, price, beds, baths, sqft, link, photo.',
      schema: realtySearchSchema,
      run: async (input, { signal, deadline }) =>
        forModel(await realty.searchForSale(input, { signal, deadline })),
    }),
    agentTool({
      name: 'search_rentals',
      description:
        'Search US rentals in one city (Realty US listings). Prices are monthly rents in dollars; can require ' +
        'that cats or dogs are allowed. Returns address, rent, beds, baths, sqft, link, photo.',
      schema: realtySearchSchema,
      run: async (input, { signal, deadline }) =>
        forModel(await realty.searchForRent(input, { signal, deadline })),
    }),
  ];
}
