/**
 * The pglite part of `pnpm bench`: the embedded database (PGlite, the default without
 * DATABASE_URL) in this one process, with a data folder as the server uses. Taskport's creates
 * (the task.create procedure, 64 in flight) against PGlite's own single-row INSERT one after
 * the other (PGlite runs one statement at a time: that is its limit for rows written one by
 * one), and an import of N tasks through the import service against PGlite's COPY of exactly
 * the rows it writes, into a table like tasks with the project foreign key.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import {
  createCaller,
  createTRPCContext,
  createUserWithOrganization,
  importTasks,
} from "@taskport/api";
import { migratePglite, wrapPglite } from "@taskport/api/db";
import { type BenchConfig, LABEL_CONFIG, median, type Report } from "./common";

type Cleanups = (() => Promise<void>)[];

const taskData = (i: number) => ({
  text: `Review ${i}: the product arrived on time and works as described, five stars.`,
  rating: i % 5,
});

export async function measurePglite(
  config: BenchConfig,
  report: Report,
  cleanups: Cleanups,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "taskport-bench-pglite-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  report.log("PGlite: creating and migrating a database...");
  const client = await PGlite.create(join(dir, "pglite"));
  cleanups.push(() => client.close());
  await migratePglite(client);
  const db = wrapPglite(client);
  const user = await createUserWithOrganization(db, {
    email: "bench@example.com",
    password: "bench-password",
  });
  const actor = { userId: user.id, organizationId: user.organizationId };
  const caller = createCaller(createTRPCContext({ db, headers: {}, actor }));
  const newProject = async (title: string) =>
    (await caller.project.create({ title, label_config: LABEL_CONFIG })).id;
  const seconds = config.seconds;

  // PGlite's own limit for one row per statement.
  await client.exec(
    `create table bench_plain (id bigint generated always as identity primary key, data jsonb not null, created_at timestamptz not null default now())`,
  );
  report.log("PGlite: single-row inserts...");
  let inserted = 0;
  let deadline = performance.now() + seconds * 1000;
  let started = performance.now();
  while (performance.now() < deadline) {
    await client.query("insert into bench_plain (data) values ($1)", [
      JSON.stringify({ text: `plain ${inserted}`, n: inserted }),
    ]);
    inserted++;
  }
  const plainRate = inserted / ((performance.now() - started) / 1000);
  report.add({
    measure: "ceiling: PGlite single-row INSERT, one after the other",
    value: plainRate,
    unit: "rows/s",
  });

  report.log("PGlite: task.create, 64 in flight...");
  const project = await newProject("Bench creates");
  let created = 0;
  let failed = 0;
  deadline = performance.now() + seconds * 1000;
  started = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < deadline) {
        const n = created + failed;
        try {
          await caller.task.create({ data: { text: `benchmark task ${n}`, n }, project });
          created++;
        } catch {
          failed++;
        }
      }
    }),
  );
  const createRate = created / ((performance.now() - started) / 1000);
  report.add({
    measure: "task.create on PGlite, one project (64 in flight, in process)",
    value: createRate,
    unit: "tasks/s",
    errors: failed,
    limit: { name: "PGlite single-row INSERT", value: plainRate },
  });

  const N = config.quick ? 20_000 : 100_000;
  report.log(`PGlite: import of ${N} tasks, and COPY of the same rows...`);
  const importProject = await newProject("Bench import");
  const items = Array.from({ length: N }, (_, i) => ({ data: taskData(i) }));
  started = performance.now();
  const result = await importTasks(db, actor, { project: importProject, sources: [{ items }] });
  const importSeconds = (performance.now() - started) / 1000;
  if (result.task_count !== N) throw new Error(`PGlite import counted ${result.task_count}`);

  const copyProject = await newProject("Bench COPY");
  await client.exec(`create table copy_tasks (like tasks including all);
    alter table copy_tasks add constraint copy_tasks_project_id_fk foreign key (project_id)
      references projects (id) on delete cascade`);
  let csv = "";
  for (let i = 0; i < N; i++)
    csv += `${copyProject},${i + 1},"${JSON.stringify(taskData(i)).replaceAll('"', '""')}",{},1,${user.id}\n`;
  const copyTimes: number[] = [];
  for (let run = 0; run < 3; run++) {
    const blob = new Blob([csv]);
    const t = performance.now();
    await client.query(
      "copy copy_tasks (project_id, inner_id, data, meta, overlap, created_by) from '/dev/blob' with (format csv)",
      [],
      { blob },
    );
    copyTimes.push((performance.now() - t) / 1000);
    await client.exec("truncate copy_tasks");
  }
  const copyRate = N / median(copyTimes);
  report.add({
    measure: `ceiling: PGlite COPY of the same ${N.toLocaleString("en-US")} rows into a table like tasks (median of 3)`,
    value: copyRate,
    unit: "rows/s",
  });
  report.add({
    measure: `import service on PGlite, ${N.toLocaleString("en-US")} tasks`,
    value: N / importSeconds,
    unit: "tasks/s",
    limit: { name: "PGlite COPY of the same rows", value: copyRate },
  });
}
