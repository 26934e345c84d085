import "server-only";
import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
/**
 * Prefetching in server components: the same procedures, called in-process with the
 * request's headers, their results handed to the browser's QueryClient by HydrateClient.
 */
import { appRouter, createTRPCContext } from "@taskport/api";
import { createTRPCOptionsProxy } from "@trpc/tanstack-react-query";
import { headers } from "next/headers";
import { cache, type ReactNode } from "react";
import { makeQueryClient } from "~/trpc/query-client";
import { getRuntime } from "./runtime";

// One QueryClient per request (React's cache is per request in server components).
export const getQueryClient = cache(makeQueryClient);

export const trpcServer = createTRPCOptionsProxy({
  ctx: async () => {
    const { db, secretKey } = getRuntime();
    return createTRPCContext({ db, secretKey, headers: await headers() });
  },
  router: appRouter,
  queryClient: getQueryClient,
});

export function HydrateClient({ children }: { children: ReactNode }) {
  return <HydrationBoundary state={dehydrate(getQueryClient())}>{children}</HydrationBoundary>;
}
