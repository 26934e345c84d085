/**
 * Headers every /api answer carries: `X-Content-Type-Options: nosniff` whatever the path and
 * status, and `Retry-After` on a 503 from tRPC as from REST (the same value).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresDb, type Db } from "../src/db";
import {
  type ApiServer,
  createTenant,
  createTestDatabase,
  startApiServer,
  type TestDatabase,
} from "./support";

let tdb: TestDatabase;
let server: ApiServer;
let token: string;
// Nothing listens on port 1: every query fails to connect, as when PostgreSQL is down.
let unreachable: Db;
let down: ApiServer;

beforeAll(async () => {
  tdb = await createTestDatabase();
  server = await startApiServer({ db: tdb.db });
  ({ token } = await createTenant(tdb.db));
  unreachable = createPostgresDb("postgres://postgres@127.0.0.1:1/taskport", { max: 1 });
  down = await startApiServer({ db: unreachable });
});
afterAll(async () => {
  await down?.close();
  await unreachable?.$close();
  await server?.close();
  await tdb?.close();
});

describe("every /api answer", () => {
  it("says nosniff, whatever the path, the status or the surface", async () => {
    const auth = { authorization: `Token ${token}` };
    const requests: [string, RequestInit][] = [
      ["/api/health", {}],
      ["/health", {}],
      ["/api/openapi.json", {}],
      ["/api/projects/", { headers: auth }],
      ["/api/projects/", {}],
      ["/api/nope", { headers: auth }],
      ["/api/trpc/project.list", { headers: auth }],
      ["/api/trpc/project.list", {}],
      ["/api/trpc/nope.nope", { headers: auth }],
      [
        "/api/trpc/project.create",
        { method: "POST", headers: { ...auth, "content-type": "text/csv" }, body: "a" },
      ],
      [
        "/api/projects/",
        { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: "{" },
      ],
    ];
    for (const [path, init] of requests) {
      const res = await fetch(`${server.base}${path}`, init);
      await res.arrayBuffer();
      expect(res.headers.get("x-content-type-options"), `${path} ${res.status}`).toBe("nosniff");
    }
  });

  it("a 503 says when to retry, from tRPC as from REST", async () => {
    const auth = { authorization: "Token some-token-0123456789" };
    const rest = await fetch(`${down.base}/api/projects/`, { headers: auth });
    expect(rest.status).toBe(503);
    const trpc = await fetch(`${down.base}/api/trpc/project.list`, { headers: auth });
    expect(trpc.status).toBe(503);
    expect(trpc.headers.get("retry-after")).toBe(rest.headers.get("retry-after"));
    expect(Number(trpc.headers.get("retry-after"))).toBeGreaterThan(0);
    const batch = await fetch(`${down.base}/api/trpc/project.list,project.list?batch=1&input={}`, {
      headers: auth,
    });
    expect(batch.status).toBe(503);
    expect(batch.headers.get("retry-after")).toBe(rest.headers.get("retry-after"));
  });
});
