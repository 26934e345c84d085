import { TRPCError } from "@trpc/server";
import { count, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPostgresDb } from "../src/db";
import { idempotencyKeys, tasks } from "../src/db/schema";
import { createCaller, createTRPCContext } from "../src/index";
import { deleteExpiredIdempotencyKeys } from "../src/services/idempotency";
import { createTestDatabase, type TestDatabase } from "./support/db";
import { createTenant } from "./support/fixtures";

let tdb: TestDatabase;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let projectId: number;

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.close();
});
beforeEach(async () => {
  await tdb.truncate();
  tenant = await createTenant(tdb.db);
  const project = await tenant.caller.project.create({
    title: "Keys",
    label_config: '<View><Text name="text" value="$text"/></View>',
  });
  projectId = project.id;
});

async function taskCount(): Promise<number> {
  const [row] = await tdb.db.select({ n: count() }).from(tasks);
  return row?.n ?? 0;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCError);
  return (error as TRPCError).code;
}

describe("task.create with an idempotency key", () => {
  it("a replay returns the first task, dates intact, and creates nothing", async () => {
    const body = { data: { text: "once" }, project: projectId, idempotencyKey: "create-1" };
    const first = await tenant.caller.task.create(body);
    const replay = await tenant.caller.task.create({ ...body });
    expect(replay).toEqual(first);
    expect(replay.created_at).toBeInstanceOf(Date);
    expect(await taskCount()).toBe(1);
    // Without a key every call creates.
    await tenant.caller.task.create({ data: { text: "once" }, project: projectId });
    expect(await taskCount()).toBe(2);
  });

  it("the same key with a different body answers 422 and creates nothing", async () => {
    await tenant.caller.task.create({
      data: { text: "a" },
      project: projectId,
      idempotencyKey: "k",
    });
    expect(
      await codeOf(
        tenant.caller.task.create({ data: { text: "b" }, project: projectId, idempotencyKey: "k" }),
      ),
    ).toBe("UNPROCESSABLE_CONTENT");
    expect(await taskCount()).toBe(1);
  });

  it("a failed create does not hold its key: fixing the body and retrying creates", async () => {
    const bad = { data: { wrong: "x" }, project: projectId, idempotencyKey: "retry" };
    expect(await codeOf(tenant.caller.task.create(bad))).toBe("BAD_REQUEST");
    const good = await tenant.caller.task.create({
      data: { text: "x" },
      project: projectId,
      idempotencyKey: "retry",
    });
    expect(good.inner_id).toBe(1);
  });

  it("keys are per organization, and a key older than 24 hours is free again", async () => {
    const other = await createTenant(tdb.db);
    const otherProject = await other.caller.project.create({ title: "Theirs" });
    const mine = await tenant.caller.task.create({
      data: { text: "mine" },
      project: projectId,
      idempotencyKey: "shared",
    });
    const theirs = await other.caller.task.create({
      data: { text: "mine" },
      project: otherProject.id,
      idempotencyKey: "shared",
    });
    expect(theirs.id).not.toBe(mine.id);
    await tdb.db
      .update(idempotencyKeys)
      .set({ createdAt: sql`now() - interval '25 hours'` })
      .where(eq(idempotencyKeys.organizationId, tenant.user.organizationId));
    const again = await tenant.caller.task.create({
      data: { text: "mine" },
      project: projectId,
      idempotencyKey: "shared",
    });
    expect(again.id).not.toBe(mine.id);
    expect(again.inner_id).toBe(2);
  });

  it("sweeps keys past the replay window and keeps the others", async () => {
    for (const key of ["old", "fresh"]) {
      await tenant.caller.task.create({
        data: { text: key },
        project: projectId,
        idempotencyKey: key,
      });
    }
    await tdb.db
      .update(idempotencyKeys)
      .set({ createdAt: sql`now() - interval '25 hours'` })
      .where(eq(idempotencyKeys.key, "old"));
    expect(await deleteExpiredIdempotencyKeys(tdb.db)).toBe(1);
    const left = await tdb.db.select({ key: idempotencyKeys.key }).from(idempotencyKeys);
    expect(left.map((r) => r.key)).toEqual(["fresh"]);
  });

  it("refuses a malformed key", async () => {
    expect(
      await codeOf(
        tenant.caller.task.create({
          data: { text: "x" },
          project: projectId,
          idempotencyKey: "has space",
        }),
      ),
    ).toBe("BAD_REQUEST");
  });

  it("concurrent requests with one key create once and all answer the same task", async () => {
    const second = tdb.url ? createPostgresDb(tdb.url, { max: 10 }) : tdb.db;
    try {
      const callers = [
        tenant.caller,
        createCaller(createTRPCContext({ db: second, headers: tenant.headers })),
      ];
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          callers[i % 2]?.task.create({
            data: { text: "race" },
            project: projectId,
            idempotencyKey: "race-key",
          }),
        ),
      );
      expect(new Set(results.map((t) => t?.id)).size).toBe(1);
      expect(await taskCount()).toBe(1);
    } finally {
      if (second !== tdb.db) await second.$close();
    }
  });
});

describe("task.import with an idempotency key", () => {
  const items = [{ text: "a" }, { data: { text: "b" }, annotations: [{ result: [] }] }];

  it("a replay answers the first result and creates nothing; another request answers 422", async () => {
    const input = { project: projectId, items, returnTaskIds: true, idempotencyKey: "chunk-0" };
    const first = await tenant.caller.task.import(input);
    const replay = await tenant.caller.task.import(input);
    expect(replay).toEqual(first);
    expect(first.task_ids).toHaveLength(2);
    expect(await taskCount()).toBe(2);
    expect(await codeOf(tenant.caller.task.import({ ...input, items: [{ text: "other" }] }))).toBe(
      "UNPROCESSABLE_CONTENT",
    );
    // The parameters are part of the request too.
    expect(await codeOf(tenant.caller.task.import({ ...input, returnTaskIds: false }))).toBe(
      "UNPROCESSABLE_CONTENT",
    );
    expect(await taskCount()).toBe(2);
  });

  it("a failed import leaves its key free", async () => {
    const input = { project: projectId, items: [{ wrong: 1 }], idempotencyKey: "bad" };
    expect(await codeOf(tenant.caller.task.import(input))).toBe("BAD_REQUEST");
    const [row] = await tdb.db.select({ n: count() }).from(idempotencyKeys);
    expect(row?.n).toBe(0);
  });
});
