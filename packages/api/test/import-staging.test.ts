import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tasks } from "../src/db/schema";
import { importTasks } from "../src/services/import";
import { createTestDatabase, type TestDatabase } from "./support/db";
import { createTenant } from "./support/fixtures";

let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.close();
});

describe("an import in progress", () => {
  // PGlite has one connection: there every statement waits for the open import anyway.
  it.skipIf(process.env.TEST_DRIVER !== "postgres")(
    "does not hold the project back: a create into it commits while the import reads, and the import numbers after it",
    async () => {
      const tenant = await createTenant(tdb.db);
      const project = await tenant.caller.project.create({
        title: "Staged",
        label_config: '<View><Text name="t" value="$text"/></View>',
      });
      let release!: () => void;
      const released = new Promise<void>((r) => {
        release = r;
      });
      let reachedPause!: () => void;
      const paused = new Promise<void>((r) => {
        reachedPause = r;
      });
      // 12,000 items: two full batches are written, then the reading pauses mid-import.
      const items = (async function* () {
        for (let i = 0; i < 12_000; i++) {
          if (i === 11_000) {
            reachedPause();
            await released;
          }
          yield { data: { text: `imported ${i}` } };
        }
      })();
      const importing = importTasks(tdb.db, tenant.actor, {
        project: project.id,
        sources: [{ items }],
      });
      await paused;
      const created = await tenant.caller.task.create({
        data: { text: "created meanwhile" },
        project: project.id,
      });
      expect(created.inner_id).toBe(1);
      release();
      expect((await importing).task_count).toBe(12_000);

      const rows = await tdb.db
        .select({ innerId: tasks.innerId, data: tasks.data })
        .from(tasks)
        .where(eq(tasks.projectId, project.id))
        .orderBy(asc(tasks.innerId));
      expect(rows.map((r) => r.innerId)).toEqual(Array.from({ length: 12_001 }, (_, i) => i + 1));
      // The import's tasks follow its input order.
      expect(rows[1]?.data).toEqual({ text: "imported 0" });
      expect(rows[12_000]?.data).toEqual({ text: "imported 11999" });
    },
  );
});
