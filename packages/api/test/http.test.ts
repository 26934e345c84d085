import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from "@trpc/client";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresDb } from "../src/db";
import { DATABASE_UNAVAILABLE } from "../src/errors";
import { type AppRouter, createCaller, createTRPCContext } from "../src/index";
import {
  type ApiServer,
  createTenant,
  createTestDatabase,
  startApiServer,
  type TestDatabase,
} from "./support";

let tdb: TestDatabase;
let server: ApiServer;
let base: string;
const logged: string[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase();
  server = await startApiServer({
    db: tdb.db,
    maxBodyBytes: 64 * 1024,
    logError: (id) => logged.push(id),
  });
  base = server.base;
});
afterAll(async () => {
  await server?.close();
  await tdb?.close();
});

function client(token: string, batch = false) {
  const link = (batch ? httpBatchLink : httpLink)({
    url: `${base}/api/trpc`,
    transformer: superjson,
    headers: { authorization: `Token ${token}` },
  });
  return createTRPCClient<AppRouter>({ links: [link] });
}

describe("the API over HTTP", () => {
  it("answers the health check with the database's state", async () => {
    const res = await fetch(`${base}/api/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", database: tdb.driver });
  });

  it("creates a task end-to-end typed, with dates intact", async () => {
    const { token } = await createTenant(tdb.db);
    const trpc = client(token);
    const project = await trpc.project.create.mutate({
      title: "HTTP",
      label_config: '<View><Text name="text" value="$text"/></View>',
    });
    const task = await trpc.task.create.mutate({
      data: { text: "over the wire" },
      project: project.id,
    });
    expect(task.inner_id).toBe(1);
    expect(task.created_at).toBeInstanceOf(Date);
    const batched = client(token, true);
    const [a, b] = await Promise.all([
      batched.task.create.mutate({ data: { text: "a" }, project: project.id }),
      batched.task.create.mutate({ data: { text: "b" }, project: project.id }),
    ]);
    expect([a.inner_id, b.inner_id].sort()).toEqual([2, 3]);
  });

  it("sends field errors for BAD_REQUEST, and no stack trace", async () => {
    const { token } = await createTenant(tdb.db);
    const trpc = client(token);
    const project = await trpc.project.create.mutate({
      title: "Errors",
      label_config: '<View><Text name="text" value="$text"/></View>',
    });
    const error = await trpc.task.create
      .mutate({ data: { nope: 1 }, project: project.id })
      .catch((e) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect(error.data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400 });
    expect(error.data.zodError.formErrors[0]).toMatch(/"text" key is expected in task data/);
    // Where the error is, as data: a form places it without reading the message.
    expect(error.data.zodError.issues).toEqual([
      { field: null, key: ["data", "text"], message: '"text" key is expected in task data' },
    ]);
    expect(error.data.stack).toBeUndefined();

    const notFound = await trpc.task.create.mutate({ data: {}, project: 999_999 }).catch((e) => e);
    expect(notFound.data).toMatchObject({ code: "NOT_FOUND", httpStatus: 404, zodError: null });
    expect(notFound.message).toBe("No Project matches the given query.");
  });

  it("answers 401 without credentials", async () => {
    const res = await fetch(`${base}/api/trpc/project.list`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { json: { message: string } } };
    expect(body.error.json.message).toBe("Authentication credentials were not provided.");
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it("answers /health from the database's state, as Label Studio's SDK reads it", async () => {
    const up = await fetch(`${base}/health`);
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ status: "UP" });
    // Nothing listens on port 1: the database is down.
    const unreachable = createPostgresDb("postgres://postgres@127.0.0.1:1/taskport", { max: 1 });
    const down = await startApiServer({ db: unreachable, logError: () => {} });
    try {
      const legacy = await fetch(`${down.base}/health`);
      expect(legacy.status).toBe(503);
      expect(await legacy.json()).toEqual({ status: "DOWN" });
      const health = await fetch(`${down.base}/api/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: "unavailable" });
    } finally {
      await down.close();
      await unreachable.$close();
    }
  });

  it("answers SERVICE_UNAVAILABLE when the database cannot be reached", async () => {
    // Nothing listens on port 1: every query fails to connect.
    const unreachable = createPostgresDb("postgres://postgres@127.0.0.1:1/taskport", { max: 1 });
    try {
      const caller = createCaller(
        createTRPCContext({
          db: unreachable,
          headers: { authorization: "Token whatever-token-123" },
        }),
      );
      await expect(caller.project.list()).rejects.toMatchObject({
        code: "SERVICE_UNAVAILABLE",
        message: DATABASE_UNAVAILABLE,
      });
    } finally {
      await unreachable.$close();
    }
  });

  it("refuses a body over the limit with 413", async () => {
    const { token } = await createTenant(tdb.db);
    const res = await fetch(`${base}/api/trpc/task.create`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Token ${token}` },
      body: JSON.stringify({ json: { data: { text: "x".repeat(100 * 1024) }, project: 1 } }),
    });
    expect(res.status).toBe(413);
  });
});
