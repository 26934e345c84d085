import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresDb } from "../src/db";
import { projects, tasks } from "../src/db/schema";
import { createCaller, createTRPCContext } from "../src/index";
import { createTestDatabase, type TestDatabase } from "./support/db";
import { createTenant } from "./support/fixtures";

let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.close();
});

async function innerIds(projectId: number): Promise<number[]> {
  const rows = await tdb.db
    .select({ innerId: tasks.innerId })
    .from(tasks)
    .where(eq(tasks.projectId, projectId))
    .orderBy(asc(tasks.innerId));
  return rows.map((r) => r.innerId);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe("inner_id under concurrency", () => {
  it("200 concurrent creates through two separate connection pools yield exactly 1..200", async () => {
    const tenant = await createTenant(tdb.db);
    const project = await tenant.caller.project.create({
      title: "Race",
      label_config: '<View><Text name="t" value="$text"/></View>',
    });
    // On PostgreSQL a second pool is a second set of connections, as a second server process
    // would have; PGlite has one connection, so there the two callers share it.
    const second = tdb.url ? createPostgresDb(tdb.url, { max: 10 }) : tdb.db;
    try {
      const callers = [
        tenant.caller,
        createCaller(createTRPCContext({ db: second, headers: tenant.headers })),
      ];
      const results = await Promise.all(
        range(200).map((i) =>
          callers[i % 2]?.task.create({ data: { text: `t${i}` }, project: project.id }),
        ),
      );
      const returned = results.map((t) => t?.inner_id ?? 0).sort((a, b) => a - b);
      expect(returned).toEqual(range(200));
      expect(await innerIds(project.id)).toEqual(range(200));
      const [row] = await tdb.db.select().from(projects).where(eq(projects.id, project.id));
      expect(row?.taskNumber).toBe(200);
      expect(row?.lastInnerId).toBe(200);
    } finally {
      if (second !== tdb.db) await second.$close();
    }
  });

  it("failed creates mixed with good ones leave no gap and no row", async () => {
    const tenant = await createTenant(tdb.db);
    const project = await tenant.caller.project.create({
      title: "Mixed",
      label_config: '<View><Text name="t" value="$text"/></View>',
    });
    const outcomes = await Promise.allSettled(
      range(60).map((i) =>
        tenant.caller.task.create(
          i % 3 === 0
            ? { data: { wrong: "key" }, project: project.id }
            : { data: { text: `ok ${i}` }, project: project.id },
        ),
      ),
    );
    const ok = outcomes.filter((o) => o.status === "fulfilled").length;
    expect(ok).toBe(40);
    expect(await innerIds(project.id)).toEqual(range(40));
  });

  it("creates queued for a project deleted meanwhile all fail with 404 and leave nothing", async () => {
    const tenant = await createTenant(tdb.db);
    const project = await tenant.caller.project.create({ title: "Doomed" });
    const creates = range(30).map((i) =>
      tenant.caller.task.create({ data: { i }, project: project.id }),
    );
    const deletion = tenant.caller.project.delete({ id: project.id });
    const outcomes = await Promise.allSettled([...creates, deletion]);
    const failed = outcomes.slice(0, 30).filter((o) => o.status === "rejected");
    for (const f of failed)
      expect((f as PromiseRejectedResult).reason).toMatchObject({ code: "NOT_FOUND" });
    expect(await innerIds(project.id)).toEqual([]);
  });

  it("the database itself refuses a duplicate inner_id in a project", async () => {
    const tenant = await createTenant(tdb.db);
    const project = await tenant.caller.project.create({ title: "Unique" });
    const task = await tenant.caller.task.create({ data: {}, project: project.id });
    await expect(
      tdb.db.insert(tasks).values({ projectId: project.id, innerId: task.inner_id, data: {} }),
    ).rejects.toThrow();
  });
});
