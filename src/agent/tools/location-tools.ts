import type { StructuredToolInterface } from '@langchain/core/tools';
import { geocodeSchema, type LocationClient, nearbySchema } from '../../tools/location-client.js';
import { agentTool } from './agent-tool.js';

/** The location analysis tools: geocoding and nearby amenities on OpenStreetMap (cached, throttled). */
export function locationTools(location: LocationClient): StructuredToolInterface[] {
  return [
    agentTool({
      name: 'geocode',
      description:
        'Find a place on the map (OpenStreetMap Nominatim): an address, neighbourhood, city or landmark. ' +
        'Returns names with coordinates, best match first.',
      schema: geocodeSchema,
      run: async (input, { signal, deadline }) => {
        const { query, results } = await location.geocode(input, { signal, deadline });
        return { query, results };
      },
    }),
    agentTool({
      name: 'nearby_amenities',
      description:
        'Count and list amenities around a place or coordinates (OpenStreetMap Overpass): schools, ' +
        'supermarkets, parks, hospitals, transit, restaurants and more, nearest first, with distances in metres.',
      schema: nearbySchema,
      run: async (input, { signal, deadline }) => {
        const { cached: _cached, ...result } = await location.nearbyAmenities(input, { signal, deadline });
        return result;
      },
    }),
  ];
}
