/**
 * The import part of `pnpm bench` (`pnpm bench --part import`), on an API-only server
 * (TASKPORT_API_ONLY=1) in its own process:
 *   1. one JSON request of N tasks (POST /api/projects/{id}/import);
 *   2. `psql \copy` of a file prepared beforehand with exactly the rows that import writes,
 *      into a scratch table made LIKE tasks INCLUDING ALL (columns, defaults, indexes) with
 *      every foreign key of tasks: the database's own limit for those rows (median of three);
 *   3. single creates into the same project while the same import runs (their p99 and
 *      errors), then a check that the project's inner_ids are 1..n with no gap;
 *   4. one multipart upload of a JSONL file of M tasks, with the server's peak resident
 *      memory, against `psql \copy` of its rows.
 */

import { once } from "node:events";
import { createWriteStream, openAsBlob } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import {
  type BenchConfig,
  loadUntilStopped,
  median,
  psql,
  type Report,
  type Seeded,
  sampleRss,
  startTaskport,
} from "./common";

type Cleanups = (() => Promise<void>)[];

/** The data of the i-th imported task. */
const taskData = (i: number) => ({
  text: `Review ${i}: the product arrived on time and works as described, five stars.`,
  rating: i % 5,
  source: "bench",
});

async function writeLines(file: string, lines: Iterable<string>): Promise<void> {
  const out = createWriteStream(file);
  let chunk = "";
  for (const line of lines) {
    chunk += line;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, "drain");
      chunk = "";
    }
  }
  out.end(chunk);
  await once(out, "finish");
}

/**
 * The rows an import of `n` tasks writes into `tasks`, as CSV for `\copy`: the columns it
 * sets (project, inner_id, data, meta, overlap, creator, and for an uploaded file its upload
 * row); the others take their defaults.
 */
function* copyRows(
  n: number,
  project: number,
  userId: number,
  fileUploadId?: number,
): Generator<string> {
  const file = fileUploadId === undefined ? "" : `,${fileUploadId}`;
  for (let i = 0; i < n; i++) {
    const data = JSON.stringify(taskData(i)).replaceAll('"', '""');
    yield `${project},${i + 1},"${data}",{},1,${userId}${file}\n`;
  }
}

export async function measureImports(
  config: BenchConfig,
  seeded: Seeded,
  report: Report,
  cleanups: Cleanups,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "taskport-bench-import-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const N = config.tasks;
  const M = config.bigTasks;

  report.log(`preparing the files (${N} tasks as JSON, ${M} as JSONL, and their rows as CSV)...`);
  const jsonFile = join(dir, "tasks.json");
  await writeLines(
    jsonFile,
    (function* () {
      yield "[";
      for (let i = 0; i < N; i++) yield `${i ? "," : ""}${JSON.stringify({ data: taskData(i) })}`;
      yield "]";
    })(),
  );
  const jsonlFile = join(dir, "tasks.jsonl");
  await writeLines(
    jsonlFile,
    (function* () {
      for (let i = 0; i < M; i++) yield `${JSON.stringify(taskData(i))}\n`;
    })(),
  );
  const raw = postgres(seeded.dbUrl, { max: 1, onnotice: () => {} });
  cleanups.push(() => raw.end({ timeout: 5 }));
  const copyProject = await seeded.newProject("Bench COPY");
  const copyN = join(dir, "rows-n.csv");
  const copyM = join(dir, "rows-m.csv");
  await writeLines(copyN, copyRows(N, copyProject, seeded.userId));
  // The uploaded file's tasks point to its upload row (a foreign key and an index entry each).
  const [upload] = await raw<{ id: number }[]>`
    insert into file_uploads (project_id, created_by, file_name, format)
    values (${copyProject}, ${seeded.userId}, 'tasks.jsonl', '.jsonl') returning id`;
  await writeLines(copyM, copyRows(M, copyProject, seeded.userId, upload?.id));
  // LIKE copies columns, defaults, indexes and checks but no foreign key: each of tasks' is
  // added as defined there, so that COPY checks every row as an insert into tasks does.
  await raw.unsafe("create table copy_tasks (like tasks including all)");
  const foreignKeys = await raw<{ definition: string }[]>`
    select pg_get_constraintdef(oid) as definition from pg_constraint
    where conrelid = 'tasks'::regclass and contype = 'f' order by conname`;
  for (const [i, { definition }] of foreignKeys.entries())
    await raw.unsafe(`alter table copy_tasks add constraint copy_tasks_fk_${i} ${definition}`);
  const copy = (file: string) => {
    const columns = `project_id, inner_id, data, meta, overlap, created_by${file === copyM ? ", file_upload_id" : ""}`;
    const seconds = psql(
      seeded.dbUrl,
      `\\copy copy_tasks (${columns}) from '${file}' with (format csv)`,
    );
    psql(seeded.dbUrl, "truncate copy_tasks");
    return seconds;
  };

  report.log("starting an API-only Taskport server on PostgreSQL...");
  const server = await startTaskport({
    DATABASE_URL: seeded.dbUrl,
    TASKPORT_API_ONLY: "1",
    TASKPORT_MAX_IMPORT_BYTES: String(1024 * 1024 * 1024),
    // The uploaded file is measured as one request, not handed to an import job.
    TASKPORT_ASYNC_IMPORT_BYTES: String(64 * 1024 ** 3),
  });
  cleanups.push(() => server.stop());
  const auth = { authorization: `Token ${seeded.token}` };

  const importJson = async (project: number): Promise<number> => {
    const started = performance.now();
    const res = await fetch(`${server.url}/api/projects/${project}/import`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: await openAsBlob(jsonFile),
    });
    const body = (await res.json()) as { task_count?: number };
    if (res.status !== 201 || body.task_count !== N)
      throw new Error(`import answered ${res.status}: ${JSON.stringify(body).slice(0, 500)}`);
    return (performance.now() - started) / 1000;
  };
  const checkDense = async (project: number, expected?: number) => {
    const [r] = await raw<{ n: number; d: number; m: number }[]>`
      select count(*)::int as n, count(distinct inner_id)::int as d, coalesce(max(inner_id), 0)::int as m
      from tasks where project_id = ${project}`;
    if (!r || r.n !== r.d || r.n !== r.m || (expected !== undefined && r.n !== expected))
      throw new Error(`project ${project}: inner_ids not 1..n: ${JSON.stringify(r)}`);
    return r.n;
  };

  // 1 and 2: the import alone, and the database's COPY of its rows.
  await report.measure("REST import", async () => {
    report.log(`REST import of ${N} tasks in one JSON request...`);
    const project = await seeded.newProject("Bench import");
    const rss = sampleRss(server.child.pid);
    const seconds = await importJson(project);
    const peak = rss.stop();
    await checkDense(project, N);
    report.log(`psql \\copy of the same ${N} rows (3 times)...`);
    const copySeconds = median([copy(copyN), copy(copyN), copy(copyN)]);
    report.add({
      measure: `ceiling: psql \\copy of the same ${N.toLocaleString("en-US")} rows into a table like tasks (median of 3)`,
      value: N / copySeconds,
      unit: "rows/s",
    });
    report.add({
      measure: `REST import, ${N.toLocaleString("en-US")} tasks in one JSON request`,
      value: N / seconds,
      unit: "tasks/s",
      limit: { name: "psql \\copy of the same rows", value: N / copySeconds },
      target: { min: 0.5 },
    });
    report.add({ measure: "server peak RSS during that import", value: peak, unit: "MB" });
  });

  // 3: single creates into the project an import is writing to.
  await report.measure("creates during an import", async () => {
    report.log(`single creates (16 connections) into a project while ${N} tasks are imported...`);
    const project = await seeded.newProject("Bench import and creates");
    const creates = loadUntilStopped({
      url: server.url,
      path: "/api/tasks/",
      connections: 16,
      shape: "rest",
      projects: [project],
      token: seeded.token,
    });
    await new Promise((r) => setTimeout(r, 1000));
    let seconds = 0;
    try {
      seconds = await importJson(project);
    } finally {
      const r = await creates.stop();
      report.add({
        measure: `POST /api/tasks/ into the same project while ${N.toLocaleString("en-US")} tasks are imported (16 conn)`,
        value: r.rps,
        unit: "req/s",
        p50: r.p50,
        p99: r.p99,
        errors: r.errors + r.non2xx,
        target: { p99Max: 1000 },
      });
    }
    const total = await checkDense(project);
    report.add({
      measure: "the import meanwhile",
      value: N / seconds,
      unit: "tasks/s",
    });
    report.log(`inner_id 1..${total} with no gap or duplicate`);
  });

  // 4: a large upload, and the server's memory.
  await report.measure("JSONL upload", async () => {
    report.log(`REST import of ${M} tasks in one uploaded JSONL file...`);
    const project = await seeded.newProject("Bench upload");
    const form = new FormData();
    form.append("file", await openAsBlob(jsonlFile), "tasks.jsonl");
    const rss = sampleRss(server.child.pid);
    const started = performance.now();
    const res = await fetch(`${server.url}/api/projects/${project}/import`, {
      method: "POST",
      headers: auth,
      body: form,
    });
    const body = (await res.json()) as { task_count?: number };
    const seconds = (performance.now() - started) / 1000;
    const peak = rss.stop();
    if (res.status !== 201 || body.task_count !== M)
      throw new Error(`upload answered ${res.status}: ${JSON.stringify(body).slice(0, 500)}`);
    await checkDense(project, M);
    report.log(`psql \\copy of the same ${M} rows...`);
    const copySeconds = copy(copyM);
    report.add({
      measure: `ceiling: psql \\copy of the same ${M.toLocaleString("en-US")} rows into a table like tasks`,
      value: M / copySeconds,
      unit: "rows/s",
    });
    report.add({
      measure: `REST import, ${M.toLocaleString("en-US")} tasks in one uploaded JSONL file`,
      value: M / seconds,
      unit: "tasks/s",
      limit: { name: "psql \\copy of the same rows", value: M / copySeconds },
      target: { min: 0.5 },
    });
    report.add({
      measure: "API-only server peak RSS during that upload",
      value: peak,
      unit: "MB",
      target: { max: 300 },
    });
  });
  await server.stop();
}
