/**
 * One QueryClient recipe for the server (prefetch) and the browser (hydrate): superjson on
 * both sides, so the `Date` fields of prefetched tasks and projects survive the trip.
 */
import { defaultShouldDehydrateQuery, QueryClient } from "@tanstack/react-query";
import { transformer } from "@taskport/schema";

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      // Prefetched data is fresh when it arrives: no refetch right after hydration.
      queries: { staleTime: 30_000 },
      dehydrate: {
        serializeData: transformer.serialize,
        shouldDehydrateQuery: (query) =>
          defaultShouldDehydrateQuery(query) || query.state.status === "pending",
      },
      hydrate: { deserializeData: transformer.deserialize },
    },
  });
}
