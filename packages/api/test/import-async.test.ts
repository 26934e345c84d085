/**
 * Imports run as jobs over real HTTP (services/import-job.ts): Label Studio's async answer,
 * the record polled to its end, failures and cancels that leave no tasks and no uploads,
 * idempotent replays, and tenancy of the record and the job.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fileUploads, jobs as jobRows, predictions, projectImports, tasks } from "../src/db/schema";
import type { JobSystem } from "../src/jobs";
import { createJobSystem } from "../src/jobs/queues";
import {
  type ApiServer,
  createTenant,
  createTestDatabase,
  startApiServer,
  type TestDatabase,
} from "./support";

const ASYNC_BYTES = 2048;

let tdb: TestDatabase;
let media: string;
let jobs: JobSystem;
let server: ApiServer;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let projectId: number;

beforeAll(async () => {
  tdb = await createTestDatabase();
  media = await mkdtemp(join(tmpdir(), "taskport-async-import-"));
  jobs = createJobSystem({
    db: tdb.db,
    pollingIntervalSeconds: 0.5,
    // Heartbeats every 0.5 s: a job made to look abandoned is retried within a second.
    staleAfterSeconds: 3,
    uploads: { mediaDir: media },
    logError: () => {},
  });
  await jobs.start();
  server = await startApiServer({
    db: tdb.db,
    jobs,
    asyncImportBytes: ASYNC_BYTES,
    uploads: { mediaDir: media },
    logError: () => {},
  });
});
afterAll(async () => {
  await server?.close();
  await jobs?.stop(2000);
  await tdb?.close();
  if (media) await rm(media, { recursive: true, force: true });
});
beforeEach(async () => {
  tenant = await createTenant(tdb.db);
  const project = await tenant.caller.project.create({
    title: "Async",
    label_config:
      '<View><Text name="t" value="$text"/><Choices name="c" toName="t"><Choice value="a"/></Choices></View>',
  });
  projectId = project.id;
});

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
type Answer = { status: number; body: any };

async function call(
  method: string,
  path: string,
  token = tenant.token,
  base = server.base,
): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Token ${token}` },
  });
  return { status: res.status, body: JSON.parse(await res.text()) };
}

async function upload(
  files: [name: string, content: string][],
  query = "",
  headers: Record<string, string> = {},
  base = server.base,
): Promise<Answer> {
  const form = new FormData();
  for (const [name, content] of files) form.append(name, new Blob([content]), name);
  const res = await fetch(`${base}/api/projects/${projectId}/import${query}`, {
    method: "POST",
    headers: { authorization: `Token ${tenant.token}`, ...headers },
    body: form,
  });
  return { status: res.status, body: JSON.parse(await res.text()) };
}

/** Polls the import record, as the SDK's create_many_status does, until it ends. */
async function finished(id: number) {
  for (;;) {
    const record = await call("GET", `/api/projects/${projectId}/imports/${id}/`);
    expect(record.status).toBe(200);
    if (record.body.status === "completed" || record.body.status === "failed") return record.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Polls the job until it ends: it ends once its import is committed, a moment after. */
async function jobEnded(id: string) {
  for (;;) {
    const job = await call("GET", `/api/jobs/${id}/`);
    expect(job.status).toBe(200);
    if (!["queued", "running", "retrying"].includes(job.body.status)) return job.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function taskCount(): Promise<number> {
  return (await tdb.db.select().from(tasks).where(eq(tasks.projectId, projectId))).length;
}

const csv = (rows: number) =>
  `text\n${Array.from({ length: rows }, (_, i) => `row ${i}`).join("\n")}\n`;

describe("asynchronous imports", () => {
  it("async=true answers 201 with the import alone (and its job); the record ends completed", async () => {
    const answer = await upload([["rows.csv", csv(3)]], "?async=true");
    expect(answer.status).toBe(201);
    expect(Object.keys(answer.body).sort()).toEqual(["import", "job"]);
    expect(answer.body.import).toEqual(expect.any(Number));
    const record = await finished(answer.body.import);
    expect(record).toMatchObject({
      id: answer.body.import,
      project: projectId,
      status: "completed",
      task_count: 3,
      annotation_count: 0,
      found_formats: [".csv"],
      data_columns: ["text"],
      error: null,
    });
    expect(record.finished_at).not.toBeNull();
    expect(await taskCount()).toBe(3);
    const uploads = await tdb.db
      .select()
      .from(fileUploads)
      .where(eq(fileUploads.projectId, projectId));
    expect(record.file_upload_ids).toEqual(uploads.map((u) => u.id));
    const texts = await tdb.db
      .select({ data: tasks.data, upload: tasks.fileUploadId })
      .from(tasks)
      .where(eq(tasks.projectId, projectId));
    expect(texts.map((t) => t.upload)).toEqual([uploads[0]?.id, uploads[0]?.id, uploads[0]?.id]);
    expect(await jobEnded(answer.body.job)).toMatchObject({
      queue: "import",
      status: "completed",
      progress: { tasks_read: 3, tasks_written: 3 },
    });
  });

  it("a retry that finds its import committed (the process stopped before the job ended) ends the job and imports nothing again", async () => {
    const answer = await upload([["rows.csv", csv(3)]], "?async=true");
    expect(answer.status).toBe(201);
    expect(await jobEnded(answer.body.job)).toMatchObject({ status: "completed", attempt: 1 });
    // The state a kill -9 leaves between the import's commit and the job's end: the job still
    // running, its process silent.
    await tdb.db
      .update(jobRows)
      .set({
        status: "running",
        workerId: "stopped-process",
        finishedAt: null,
        heartbeatAt: new Date(Date.now() - 3_600_000),
      })
      .where(eq(jobRows.id, answer.body.job));
    for (;;) {
      const job = await jobEnded(answer.body.job);
      if (job.attempt === 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      expect(job).toMatchObject({ status: "completed", attempt: 2 });
      break;
    }
    expect(await taskCount()).toBe(3);
    expect(await finished(answer.body.import)).toMatchObject({
      status: "completed",
      task_count: 3,
    });
  });

  it("files past TASKPORT_ASYNC_IMPORT_BYTES run as a job; smaller ones are imported at once", async () => {
    const small = await upload([["small.csv", csv(2)]]);
    expect(small.status).toBe(201);
    expect(small.body).toMatchObject({ task_count: 2 });
    const large = await upload([["large.csv", csv(400)]]);
    expect(large.status).toBe(201);
    expect(Object.keys(large.body).sort()).toEqual(["import", "job"]);
    expect(await finished(large.body.import)).toMatchObject({
      status: "completed",
      task_count: 400,
    });
    expect(await taskCount()).toBe(402);
  });

  it("a bad item fails the import with the item named; no task and no upload stays", async () => {
    const items = JSON.stringify([{ text: "fine" }, { data: "not an object" }]);
    const answer = await upload([["bad.json", items]], "?async=true");
    expect(answer.status).toBe(201);
    const record = await finished(answer.body.import);
    expect(record.status).toBe("failed");
    expect(record.error).toContain("Error at item 1");
    expect(record.task_count).toBe(0);
    expect(await taskCount()).toBe(0);
    const uploads = await tdb.db
      .select()
      .from(fileUploads)
      .where(eq(fileUploads.projectId, projectId));
    expect(uploads).toEqual([]);
    expect(await readdir(join(media, "upload", String(projectId))).catch(() => [])).toEqual([]);
    const job = await call("GET", `/api/jobs/${answer.body.job}/`);
    expect(job.body).toMatchObject({ status: "failed", attempt: 1 });
  });

  it("takes preannotated_from_fields and commit_to_project=false as an immediate import does", async () => {
    const answer = await upload(
      [["rows.csv", "text,c\nhello,a\n"]],
      "?async=true&preannotated_from_fields=c",
    );
    expect(answer.status).toBe(201);
    const record = await finished(answer.body.import);
    expect(record).toMatchObject({
      status: "completed",
      preannotated_from_fields: ["c"],
      task_count: 1,
      prediction_count: 1,
    });
    const [task] = await tdb.db.select().from(tasks).where(eq(tasks.projectId, projectId));
    expect(task?.data).toEqual({ text: "hello" });
    const made = await tdb.db
      .select()
      .from(predictions)
      .where(eq(predictions.taskId, task?.id ?? 0));
    expect(made.map((p) => [p.result, p.modelVersion])).toEqual([
      [
        [{ from_name: "c", to_name: "t", type: "choices", value: { choices: ["a"] } }],
        "preannotated",
      ],
    ]);

    const dry = await upload([["more.csv", "text\nx\n"]], "?async=true&commit_to_project=false");
    const dryRecord = await finished(dry.body.import);
    expect(dryRecord).toMatchObject({ status: "completed", task_count: 1 });
    expect(await taskCount()).toBe(1);
    const kept = await tdb.db
      .select({ id: fileUploads.id })
      .from(fileUploads)
      .where(eq(fileUploads.projectId, projectId));
    expect(kept.map((u) => u.id)).toEqual(expect.arrayContaining(dryRecord.file_upload_ids));
    expect(dryRecord.file_upload_ids).toHaveLength(1);
  });

  it("an Idempotency-Key replay answers the first answer and starts nothing more", async () => {
    const headers = { "idempotency-key": `async-${projectId}` };
    const first = await upload([["rows.csv", csv(5)]], "?async=true", headers);
    const again = await upload([["rows.csv", csv(5)]], "?async=true", headers);
    expect(first.status).toBe(201);
    expect(again).toEqual(first);
    await finished(first.body.import);
    expect(await taskCount()).toBe(5);
    const records = await tdb.db
      .select()
      .from(projectImports)
      .where(eq(projectImports.projectId, projectId));
    expect(records.map((r) => r.id)).toEqual([first.body.import]);
    // The replay's own copy of the file left the disk.
    expect(await readdir(join(media, "upload", String(projectId)))).toHaveLength(1);
  });

  it("another organization's import and job are 404", async () => {
    const answer = await upload([["rows.csv", csv(2)]], "?async=true");
    await finished(answer.body.import);
    const other = await createTenant(tdb.db);
    const record = await call(
      "GET",
      `/api/projects/${projectId}/imports/${answer.body.import}/`,
      other.token,
    );
    expect(record.status).toBe(404);
    expect((await call("GET", `/api/jobs/${answer.body.job}/`, other.token)).status).toBe(404);
    expect((await call("POST", `/api/jobs/${answer.body.job}/cancel`, other.token)).status).toBe(
      404,
    );
  });

  // Last: it stops this file's workers, so that the import waits until cancelled.
  it("a cancelled import ends failed, with no task and no upload", async () => {
    await jobs.stop(2000);
    const idle = createJobSystem({ db: tdb.db, work: false, uploads: { mediaDir: media } });
    await idle.start();
    const enqueueOnly = await startApiServer({
      db: tdb.db,
      jobs: idle,
      uploads: { mediaDir: media },
      logError: () => {},
    });
    try {
      const answer = await upload([["rows.csv", csv(3)]], "?async=true", {}, enqueueOnly.base);
      expect(answer.status).toBe(201);
      const created = await call(
        "GET",
        `/api/projects/${projectId}/imports/${answer.body.import}/`,
      );
      expect(created.body.status).toBe("created");
      const cancel = await call(
        "POST",
        `/api/jobs/${answer.body.job}/cancel`,
        tenant.token,
        enqueueOnly.base,
      );
      expect(cancel.body).toMatchObject({ status: "cancelled" });
      const record = await finished(answer.body.import);
      expect(record).toMatchObject({ status: "failed", error: "The import was cancelled." });
      expect(await taskCount()).toBe(0);
      const uploads = await tdb.db
        .select()
        .from(fileUploads)
        .where(eq(fileUploads.projectId, projectId));
      expect(uploads).toEqual([]);
      const [row] = await tdb.db.select().from(jobRows).where(eq(jobRows.id, answer.body.job));
      expect(row?.status).toBe("cancelled");
    } finally {
      await enqueueOnly.close();
      await idle.stop(2000);
    }
  });
});
