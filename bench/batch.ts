/**
 * What the typed client gains by batching: workers that each send `batch` task.create calls
 * at once through the tRPC client, with httpBatchLink (one HTTP request per batch) or
 * httpLink (one request per call). Run as its own process; prints one JSON line.
 */
import type { AppRouter } from "@taskport/api";
import { createTRPCClient, httpBatchLink, httpLink } from "@trpc/client";
import superjson from "superjson";

const spec = JSON.parse(process.argv[2] ?? "{}") as {
  url: string;
  token: string;
  project: number;
  workers: number;
  batch: number;
  seconds: number;
  batched: boolean;
};
const options = {
  url: `${spec.url}/api/trpc`,
  transformer: superjson,
  headers: { authorization: `Token ${spec.token}` },
};
const client = createTRPCClient<AppRouter>({
  links: [spec.batched ? httpBatchLink({ ...options, maxItems: spec.batch }) : httpLink(options)],
});

let created = 0;
let failed = 0;
const deadline = performance.now() + spec.seconds * 1000;
const started = performance.now();
await Promise.all(
  Array.from({ length: spec.workers }, async (_, w) => {
    let k = 0;
    while (performance.now() < deadline) {
      const results = await Promise.allSettled(
        Array.from({ length: spec.batch }, () =>
          client.task.create.mutate({ data: { text: `batch ${w} ${k++}` }, project: spec.project }),
        ),
      );
      for (const r of results) r.status === "fulfilled" ? created++ : failed++;
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ rps: created / seconds, created, failed }));
