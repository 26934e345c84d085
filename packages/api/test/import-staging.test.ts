import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectImports, tasks } from "../src/db/schema";
import { STORAGE_FULL } from "../src/errors";
import { importTasks } from "../src/services/import";
import { createTestDatabase, type TestDatabase } from "./support/db";
import { createTenant } from "./support/fixtures";
import { type ApiServer, startApiServer } from "./support/server";

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

// PostgreSQL only: there an import stages its rows in a file under the temporary folder.
describe.skipIf(process.env.TEST_DRIVER !== "postgres")("a full temporary folder", () => {
  let small: string;
  let mounted = false;
  let server: ApiServer;
  const tmp = process.env.TMPDIR;
  const restoreTmp = () => {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
  };

  beforeAll(async () => {
    small = await mkdtemp(join(tmpdir(), "taskport-full-tmp-"));
    // A 64 KiB file system of its own: a write past it fails with ENOSPC, as on a full disk.
    mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", small]).status === 0;
    if (!mounted && process.env.CI)
      throw new Error(`CI must be able to mount a tmpfs on ${small}.`);
    server = await startApiServer({ db: tdb.db, logError: () => {} });
  });
  afterAll(async () => {
    restoreTmp();
    await server?.close();
    if (mounted) spawnSync("umount", [small]);
    if (small) await rm(small, { recursive: true, force: true });
  });

  // About 600 KB of COPY lines: more than the folder holds.
  const items = Array.from({ length: 3000 }, (_, i) => ({
    data: { text: `${i} ${"x".repeat(200)}` },
  }));

  it("an import with no room for its staging file is a 503 over tRPC and a 507 over REST, naming it, and writes nothing", async (context) => {
    if (!mounted) context.skip("mounting a tmpfs needs root");
    const tenant = await createTenant(tdb.db);
    const project = await tenant.caller.project.create({
      title: "Full",
      label_config: '<View><Text name="t" value="$text"/></View>',
    });
    const headers = { "content-type": "application/json", authorization: `Token ${tenant.token}` };
    process.env.TMPDIR = small;
    let trpc: Response;
    let rest: Response;
    try {
      trpc = await fetch(`${server.base}/api/trpc/task.import`, {
        method: "POST",
        headers,
        body: JSON.stringify({ json: { project: project.id, items } }),
      });
      rest = await fetch(`${server.base}/api/projects/${project.id}/import`, {
        method: "POST",
        headers,
        body: JSON.stringify(items),
      });
    } finally {
      restoreTmp();
    }
    expect(trpc.status).toBe(503);
    const body = (await trpc.json()) as { error: { json: { message: string; data: object } } };
    expect(body.error.json).toMatchObject({
      message: STORAGE_FULL,
      data: { code: "SERVICE_UNAVAILABLE", httpStatus: 503 },
    });
    expect(JSON.stringify(body)).not.toMatch(/at .*\.[jt]s:\d+|ENOSPC/);
    expect(rest.status).toBe(507);
    expect(await rest.json()).toMatchObject({ status_code: 507, detail: STORAGE_FULL });
    const written = await tdb.db.select().from(tasks).where(eq(tasks.projectId, project.id));
    expect(written).toEqual([]);
    const [record] = await tdb.db
      .select()
      .from(projectImports)
      .where(eq(projectImports.projectId, project.id));
    expect(record).toMatchObject({ status: "failed", error: STORAGE_FULL });

    // With room again, the same import goes through.
    const again = await tenant.caller.task.import({ project: project.id, items });
    expect(again.task_count).toBe(3000);
  });
});
