import { asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresDb } from "../src/db";
import { projects, tasks } from "../src/db/schema";
import { pgErrorCode } from "../src/errors";
import { createCaller, createTRPCContext } from "../src/index";
import { PROJECT_NOT_FOUND } from "../src/services/project";
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

/** Rows of a raw query, whichever driver answered (postgres.js: an array; PGlite: `rows`). */
function rowsOf(result: unknown): unknown[] {
  return Array.isArray(result) ? result : (result as { rows: unknown[] }).rows;
}

/** The constraint a database error names (postgres.js: `constraint_name`; PGlite: `constraint`). */
function constraintOf(error: unknown): string | undefined {
  for (let e = error as Record<string, unknown> | undefined; e; e = e.cause as typeof e) {
    const name = e.constraint_name ?? e.constraint;
    if (typeof name === "string") return name;
  }
  return undefined;
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

  it("creates that fail inside the database, after rows were written, leave no gap and no row", async () => {
    const tenant = await createTenant(tdb.db);
    const project = await tenant.caller.project.create({
      title: "Mixed",
      label_config: '<View><Text name="t" value="$text"/></View>',
    });
    // A constraint only the database checks: a "boom" task passes every check of the service
    // and fails in the insert, after the counter update and the batch's earlier rows were
    // written in the same transaction.
    await tdb.db.execute(
      sql`alter table tasks add constraint tasks_no_boom_test check (data->>'text' <> 'boom')`,
    );
    try {
      const outcomes = await Promise.allSettled(
        range(60).map((i) =>
          tenant.caller.task.create({
            data: { text: i % 3 === 0 ? "boom" : `ok ${i}` },
            project: project.id,
          }),
        ),
      );
      const failed = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason] : []));
      expect(failed).toHaveLength(20);
      for (const reason of failed) {
        expect(pgErrorCode(reason)).toBe("23514");
        expect(reason).toMatchObject({ code: "INTERNAL_SERVER_ERROR" });
      }
      const created = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value.inner_id] : []));
      expect(created.sort((a, b) => a - b)).toEqual(range(40));
      expect(await innerIds(project.id)).toEqual(range(40));
      const [row] = await tdb.db.select().from(projects).where(eq(projects.id, project.id));
      expect({ taskNumber: row?.taskNumber, lastInnerId: row?.lastInnerId }).toEqual({
        taskNumber: 40,
        lastInnerId: 40,
      });
      const booms = await tdb.db.execute(
        sql`select count(*)::int as n from tasks where data->>'text' = 'boom'`,
      );
      expect(rowsOf(booms)).toEqual([{ n: 0 }]);
    } finally {
      await tdb.db.execute(sql`alter table tasks drop constraint tasks_no_boom_test`);
    }
  });

  it("creates racing a project's deletion: committed before it, or the exact 404 after it", async () => {
    const tenant = await createTenant(tdb.db);
    const project = await tenant.caller.project.create({ title: "Doomed" });
    const create = (i: number) => tenant.caller.task.create({ data: { i }, project: project.id });
    const before = range(30).map(create);
    const deletion = tenant.caller.project.delete({ id: project.id });
    const racing = await Promise.allSettled([...before, deletion]);
    expect(racing[30]).toEqual({ status: "fulfilled", value: { id: project.id } });
    // Every create either answered its task, numbered without a gap from 1, or NOT_FOUND.
    const numbered = racing
      .slice(0, 30)
      .flatMap((o) =>
        o.status === "fulfilled" ? [(o.value as { inner_id: number }).inner_id] : [],
      );
    expect(numbered.sort((a, b) => a - b)).toEqual(range(numbered.length));
    for (const o of racing.slice(0, 30)) {
      if (o.status === "rejected")
        expect(o.reason).toMatchObject({ code: "NOT_FOUND", message: PROJECT_NOT_FOUND });
    }
    // After the deletion committed, every create is refused and none is written.
    const after = await Promise.allSettled(range(10).map(create));
    for (const o of after) {
      expect(o).toMatchObject({
        status: "rejected",
        reason: { code: "NOT_FOUND", message: PROJECT_NOT_FOUND },
      });
    }
    const [{ n } = { n: -1 }] = rowsOf(
      await tdb.db.execute(
        sql`select count(*)::int as n from tasks t where not exists (select 1 from projects p where p.id = t.project_id)`,
      ),
    ) as { n: number }[];
    expect(n).toBe(0);
  });

  it("the database itself refuses a duplicate inner_id in a project", async () => {
    const tenant = await createTenant(tdb.db);
    const project = await tenant.caller.project.create({ title: "Unique" });
    const task = await tenant.caller.task.create({ data: {}, project: project.id });
    const error = await tdb.db
      .insert(tasks)
      .values({ projectId: project.id, innerId: task.inner_id, data: {} })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(pgErrorCode(error)).toBe("23505");
    expect(constraintOf(error)).toBe("tasks_project_id_inner_id_key");
  });
});
