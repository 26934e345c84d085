/**
 * Task counters under concurrency: two separate pools (on PostgreSQL; PGlite has one
 * connection) add, cancel and delete annotations and predictions on the same tasks at once,
 * and every counter must then equal the true count of rows.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createPostgresDb, type Db } from "../src/db";
import { createAnnotation, deleteAnnotation, updateAnnotation } from "../src/services/annotation";
import { createPrediction } from "../src/services/prediction";
import { createTestDatabase, type TestDatabase } from "./support/db";
import { createTenant } from "./support/fixtures";

let tdb: TestDatabase;
let second: Db;

beforeAll(async () => {
  tdb = await createTestDatabase();
  second = tdb.url ? createPostgresDb(tdb.url, { max: 10 }) : tdb.db;
});
afterAll(async () => {
  if (second !== tdb?.db) await second?.$close();
  await tdb?.close();
});

it("keeps every task's counters equal to its rows when two pools write at once", async () => {
  const tenant = await createTenant(tdb.db);
  const project = await tenant.caller.project.create({
    title: "Race",
    label_config: '<View><Text name="text" value="$text"/></View>',
    maximum_annotations: 5,
  });
  const ids: number[] = [];
  for (let i = 0; i < 4; i++) {
    ids.push(
      (await tenant.caller.task.create({ data: { text: `t${i}` }, project: project.id })).id,
    );
  }
  const work = (db: Db, seed: number) =>
    Array.from({ length: 24 }, async (_, i) => {
      const task = ids[(i + seed) % ids.length] as number;
      const created = await createAnnotation(db, tenant.actor, {
        task,
        result: [],
        was_cancelled: i % 5 === 0,
      });
      if (i % 4 === 1)
        await updateAnnotation(db, tenant.actor, { id: created.id, was_cancelled: true });
      if (i % 6 === 2) await deleteAnnotation(db, tenant.actor, created.id);
      if (i % 3 === 0) await createPrediction(db, tenant.actor, { task, result: [] });
    });
  await Promise.all([...work(tdb.db, 0), ...work(second, 1)]);
  const result = await tdb.db.execute(sql`
    select t.id, t.total_annotations, t.cancelled_annotations, t.total_predictions, t.is_labeled,
      (select count(*)::int from annotations a where a.task_id = t.id and not a.was_cancelled) as done,
      (select count(*)::int from annotations a where a.task_id = t.id and a.was_cancelled) as skipped,
      (select count(*)::int from predictions p where p.task_id = t.id) as predicted,
      t.overlap
    from tasks t order by t.id`);
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as {
    total_annotations: number;
    cancelled_annotations: number;
    total_predictions: number;
    is_labeled: boolean;
    done: number;
    skipped: number;
    predicted: number;
    overlap: number;
  }[];
  expect(rows).toHaveLength(4);
  let annotated = 0;
  for (const row of rows) {
    annotated += row.done + row.skipped;
    expect(row.total_annotations).toBe(row.done);
    expect(row.cancelled_annotations).toBe(row.skipped);
    expect(row.total_predictions).toBe(row.predicted);
    expect(row.is_labeled).toBe(row.done >= row.overlap);
  }
  // 48 created, 8 of them deleted.
  expect(annotated).toBe(40);
});
