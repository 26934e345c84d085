/**
 * The bridge from the custom server to Next.js's server code: the server builds the database
 * once and puts it here; server components read it. Next bundles its code apart from
 * server.ts, so a module variable would not be shared, but globalThis is.
 */
import type { Db } from "@taskport/api";

interface Runtime {
  db: Db;
  secretKey: Uint8Array;
  /** The REST API's OpenAPI document, as /api/openapi.json serves it. */
  openApiDocument: () => Record<string, unknown>;
}

const KEY = Symbol.for("taskport.runtime");
type Holder = { [KEY]?: Runtime };

export function setRuntime(runtime: Runtime): void {
  (globalThis as Holder)[KEY] = runtime;
}

export function getRuntime(): Runtime {
  const runtime = (globalThis as Holder)[KEY];
  if (!runtime)
    throw new Error(
      "Taskport's runtime is not set: start the app with its server (pnpm start or pnpm dev).",
    );
  return runtime;
}
