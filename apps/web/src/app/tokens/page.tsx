import type { Metadata } from "next";
import { TokensManager } from "~/components/tokens-manager";
import { getQueryClient, HydrateClient, trpcServer } from "~/server/query";
import { requireActor } from "~/server/session";

export const metadata: Metadata = { title: "API tokens" };

export default async function TokensPage() {
  await requireActor("/tokens");
  await getQueryClient().prefetchQuery(trpcServer.token.list.queryOptions());
  return (
    <div className="stack">
      <h1>API tokens</h1>
      <p className="muted">
        Scripts, the CLI and Label Studio&apos;s SDK authenticate with a token. A token acts as you,
        in your organization; revoke it when it is no longer needed.
      </p>
      <HydrateClient>
        <TokensManager />
      </HydrateClient>
    </div>
  );
}
