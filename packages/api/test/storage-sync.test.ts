/**
 * Import storages and their syncs, end to end through the tRPC procedures: a real s3rver on
 * loopback (reached only through @aws-sdk/client-s3), a real local folder, the real job
 * system, PGlite or PostgreSQL.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asc, eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { importStorages, projects, storageLinks, storageObjects, tasks } from "../src/db/schema";
import { createCaller, createTRPCContext } from "../src/index";
import type { JobSystem } from "../src/jobs";
import { createJobSystem } from "../src/jobs/queues";
import { PermanentJobError } from "../src/jobs/system";
import { openSource } from "../src/services/storage-source";
import { SYNC_TICK_QUEUE, syncTickDefinition } from "../src/services/storage-sync";
import { createTestDatabase, type TestDatabase } from "./support/db";
import { createTenant } from "./support/fixtures";
import { S3_ACCESS_KEY, S3_SECRET_KEY, startS3, type TestS3 } from "./support/s3";

let database: TestDatabase;
let s3: TestS3;
let jobs: JobSystem;
let localRoot: string;
const secretKey = new Uint8Array(32).fill(7);
/** s3rver listens on loopback, which storages may reach only when the server allows it. */
const network = { allowNetworks: ["127.0.0.0/8"] };

beforeAll(async () => {
  [database, s3] = await Promise.all([createTestDatabase(), startS3()]);
  localRoot = mkdtempSync(join(tmpdir(), "taskport-local-"));
  jobs = createJobSystem({
    db: database.db,
    pollingIntervalSeconds: 0.5,
    storage: { secretKey, localFilesRoot: localRoot },
    network,
    logError: () => {},
  });
  await jobs.start();
});
afterEach(async () => {
  await database.truncate();
});
afterAll(async () => {
  await jobs.stop(2000);
  await Promise.all([database.close(), s3.close()]);
  rmSync(localRoot, { recursive: true, force: true });
});

const TEXT_CONFIG = '<View><Text name="text" value="$text"/></View>';

async function tenantWithProject(labelConfig = TEXT_CONFIG) {
  const tenant = await createTenant(database.db);
  const caller = createCaller(
    createTRPCContext({
      db: database.db,
      headers: tenant.headers,
      jobs,
      secretKey,
      localFilesRoot: localRoot,
      network,
    }),
  );
  const project = await caller.project.create({ title: "Sync", label_config: labelConfig });
  return { ...tenant, caller, project };
}

type Caller = Awaited<ReturnType<typeof tenantWithProject>>["caller"];

async function s3Storage(caller: Caller, project: number, bucket: string, extra = {}) {
  return caller.storage.create({
    type: "s3",
    project,
    bucket,
    s3_endpoint: s3.endpoint,
    aws_access_key_id: S3_ACCESS_KEY,
    aws_secret_access_key: S3_SECRET_KEY,
    ...extra,
  });
}

/** Syncs and waits for the sync to end; answers the storage as the API shows it then. */
async function syncAndWait(caller: Caller, id: number, type: "s3" | "localfiles" = "s3") {
  const started = await caller.storage.sync({ type, id });
  expect(started.last_sync_job).toBeTruthy();
  return vi.waitFor(
    async () => {
      const storage = await caller.storage.byId({ type, id });
      if (storage.status === "queued" || storage.status === "in_progress")
        throw new Error(`still ${storage.status}`);
      return storage;
    },
    { timeout: 30_000, interval: 100 },
  );
}

async function projectTasks(projectId: number) {
  return database.db
    .select()
    .from(tasks)
    .where(eq(tasks.projectId, projectId))
    .orderBy(asc(tasks.innerId));
}

/** Puts objects `from`..`to` (`{text: prefix + n}`), 50 at a time. */
async function putMany(bucket: string, from: number, to: number, prefix = "t") {
  for (let n = from; n <= to; n += 50) {
    const batch = [];
    for (let m = n; m < n + 50 && m <= to; m++)
      batch.push(s3.put(bucket, key(m), JSON.stringify({ text: `${prefix}${m}` })));
    await Promise.all(batch);
  }
}

function key(n: number): string {
  return `obj-${String(n).padStart(5, "0")}.json`;
}

describe("S3 storages", () => {
  it("stores credentials encrypted, never returns them, and refuses what cannot be read", async () => {
    const { caller, project } = await tenantWithProject();
    const bucket = await s3.createBucket();
    const storage = await s3Storage(caller, project.id, bucket, { title: "Reviews" });
    expect(storage).toMatchObject({
      type: "s3",
      bucket,
      title: "Reviews",
      status: "initialized",
      presign: true,
      presign_ttl: 1,
      last_sync_job: null,
      has_credentials: true,
    });
    expect(JSON.stringify(storage)).not.toContain(S3_SECRET_KEY);
    expect(storage).not.toHaveProperty("aws_secret_access_key");
    expect(storage).not.toHaveProperty("aws_access_key_id");
    const [row] = await database.db
      .select()
      .from(importStorages)
      .where(eq(importStorages.id, storage.id));
    expect(row?.credentials).toMatch(/^v1:/);
    expect(row?.credentials).not.toContain(S3_SECRET_KEY);

    await expect(
      s3Storage(caller, project.id, bucket, { aws_access_key_id: "NOT-A-KEY" }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: `Cannot connect to S3 ${bucket} with specified AWS credentials`,
    });
    await expect(s3Storage(caller, project.id, "no-such-bucket")).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: "Cannot find bucket no-such-bucket in S3",
    });
    await expect(
      caller.storage.create({
        type: "s3",
        project: project.id,
        bucket,
        s3_endpoint: s3.endpoint,
        aws_access_key_id: S3_ACCESS_KEY,
      }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message:
        "aws_secret_access_key: Access Key ID and Secret Access Key must be provided together.",
    });
    await expect(
      s3Storage(caller, project.id, bucket, { regex_filter: "([a-z" }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^regex_filter: Invalid regular expression/),
    });
    await expect(
      s3Storage(caller, project.id, bucket, { s3_endpoint: "http://127.0.0.1:1" }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/^Cannot reach http:\/\/127\.0\.0\.1:1: /),
    });
    await expect(
      s3Storage(caller, project.id, bucket, { s3_endpoint: "http://[not-a-host" }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });
    const listed = await caller.storage.list({ type: "s3", project: project.id });
    expect(listed.map((s) => s.id)).toEqual([storage.id]);
  });

  it("makes one task per JSON object and row, and a re-sync of the unchanged bucket writes nothing", async () => {
    const { caller, project } = await tenantWithProject();
    const bucket = await s3.createBucket();
    for (let n = 1; n <= 25; n++)
      await s3.put(bucket, key(n), JSON.stringify({ text: `review ${n}` }));
    await s3.put(
      bucket,
      "rows-0.jsonl",
      `${JSON.stringify({ text: "line a" })}\n${JSON.stringify({ data: { text: "line b" }, meta: { m: 1 } })}\n`,
    );
    await s3.put(bucket, "rows-1.json", JSON.stringify([{ text: "list a" }, { text: "list b" }]));
    const storage = await s3Storage(caller, project.id, bucket);

    const first = await syncAndWait(caller, storage.id);
    expect(first).toMatchObject({ status: "completed", last_sync_count: 29, traceback: null });
    expect(first.meta).toMatchObject({ objects_listed: 27, tasks_created: 29, tasks_skipped: 0 });
    const created = await projectTasks(project.id);
    expect(created.map((t) => t.innerId)).toEqual(Array.from({ length: 29 }, (_, i) => i + 1));
    expect(created.map((t) => t.data.text).sort()).toEqual(
      [
        ...Array.from({ length: 25 }, (_, i) => `review ${i + 1}`),
        "line a",
        "line b",
        "list a",
        "list b",
      ].sort(),
    );
    expect(created.find((t) => t.data.text === "line b")?.meta).toEqual({ m: 1 });
    const [counter] = await database.db.select().from(projects).where(eq(projects.id, project.id));
    expect(counter?.taskNumber).toBe(29);

    const before = await database.db.execute(
      sql`select (select max(updated_at) from tasks) as tasks, (select max(synced_at) from storage_objects) as objects, (select count(*)::int from storage_links) as links`,
    );
    const second = await syncAndWait(caller, storage.id);
    expect(second.last_sync_job).not.toBe(first.last_sync_job);
    expect(second).toMatchObject({ status: "completed", last_sync_count: 0 });
    expect(second.meta).toMatchObject({
      objects_listed: 27,
      objects_skipped: 27,
      tasks_created: 0,
      tasks_updated: 0,
      tasks_skipped: 29,
    });
    const after = await database.db.execute(
      sql`select (select max(updated_at) from tasks) as tasks, (select max(synced_at) from storage_objects) as objects, (select count(*)::int from storage_links) as links`,
    );
    expect(after).toEqual(before);
    expect(await projectTasks(project.id)).toHaveLength(29);
  });

  it("updates the tasks of a changed object, and keeps (marked) or deletes those of a removed one", async () => {
    const { caller, project } = await tenantWithProject();
    const bucket = await s3.createBucket();
    for (let n = 1; n <= 4; n++) await s3.put(bucket, key(n), JSON.stringify({ text: `v1 ${n}` }));
    const storage = await s3Storage(caller, project.id, bucket);
    await syncAndWait(caller, storage.id);

    await s3.put(bucket, key(1), JSON.stringify({ text: "v2 1" }));
    await s3.remove(bucket, key(2));
    await s3.put(bucket, key(5), JSON.stringify({ text: "v1 5" }));
    const kept = await syncAndWait(caller, storage.id);
    expect(kept.meta).toMatchObject({
      tasks_created: 1,
      tasks_updated: 1,
      tasks_marked: 1,
      tasks_skipped: 2,
    });
    let rows = await projectTasks(project.id);
    expect(rows.map((t) => t.data.text)).toEqual(["v2 1", "v1 2", "v1 3", "v1 4", "v1 5"]);
    const links = await database.db
      .select()
      .from(storageLinks)
      .where(eq(storageLinks.objectExists, false));
    expect(links.map((l) => l.key)).toEqual([key(2)]);

    await caller.storage.update({
      type: "s3",
      id: storage.id,
      on_delete: "delete",
      on_change: "create",
    });
    await s3.remove(bucket, key(3));
    await s3.put(bucket, key(4), JSON.stringify({ text: "v2 4" }));
    const deleted = await syncAndWait(caller, storage.id);
    expect(deleted.meta).toMatchObject({ tasks_created: 1, tasks_deleted: 1, tasks_updated: 0 });
    rows = await projectTasks(project.id);
    expect(rows.map((t) => [t.innerId, t.data.text])).toEqual([
      [1, "v2 1"],
      [2, "v1 2"],
      [4, "v1 4"],
      [5, "v1 5"],
      [6, "v2 4"],
    ]);
    const [counter] = await database.db.select().from(projects).where(eq(projects.id, project.id));
    expect(counter?.taskNumber).toBe(5);
  });

  it("reports objects it cannot use by key and row, creates the rest, and retries them next time", async () => {
    const { caller, project } = await tenantWithProject();
    const bucket = await s3.createBucket();
    await s3.put(bucket, key(1), JSON.stringify({ text: "fine" }));
    await s3.put(bucket, key(2), "{not json");
    await s3.put(bucket, key(3), JSON.stringify([{ text: "row 0" }, { title: "no text" }]));
    await s3.put(bucket, "photo.png", "binary");
    const storage = await s3Storage(caller, project.id, bucket);
    const done = await syncAndWait(caller, storage.id);
    expect(done.status).toBe("completed_with_errors");
    expect(done.meta).toMatchObject({ tasks_created: 2, error_count: 3 });
    const traceback = done.traceback ?? "";
    expect(traceback).toContain(`${key(2)}: Error loading JSON from file: invalid JSON`);
    expect(traceback).toContain(`${key(3)} (row 1): "text" key is expected in task data`);
    expect(traceback).toContain("photo.png: Not a JSON or JSONL file");

    await s3.put(bucket, key(2), JSON.stringify({ text: "fixed" }));
    const again = await syncAndWait(caller, storage.id);
    expect(again.meta).toMatchObject({ tasks_created: 1, error_count: 2 });
    const texts = (await projectTasks(project.id)).map((t) => t.data.text);
    expect(texts).toEqual(["fine", "row 0", "fixed"]);
  });

  it("never runs two syncs of a storage at once, and can cancel one", async () => {
    const { caller, project } = await tenantWithProject();
    const bucket = await s3.createBucket();
    await putMany(bucket, 1, 1500);
    const storage = await s3Storage(caller, project.id, bucket);
    const [a, b] = await Promise.all([
      caller.storage.sync({ type: "s3", id: storage.id }),
      caller.storage.sync({ type: "s3", id: storage.id }),
    ]);
    expect(a.last_sync_job).toBe(b.last_sync_job);
    const cancelled = await caller.storage.cancelSync({ type: "s3", id: storage.id });
    expect(cancelled.last_sync_job).toBe(a.last_sync_job);
    const ended = await vi.waitFor(
      async () => {
        const s = await caller.storage.byId({ type: "s3", id: storage.id });
        if (s.status === "queued" || s.status === "in_progress") throw new Error(s.status);
        return s;
      },
      { timeout: 30_000 },
    );
    expect(ended).toMatchObject({ status: "failed", traceback: "The sync was cancelled." });
    const partial = (await projectTasks(project.id)).length;
    expect(partial).toBeLessThan(1500);

    const finished = await syncAndWait(caller, storage.id);
    expect(finished.status).toBe("completed");
    const rows = await projectTasks(project.id);
    expect(rows).toHaveLength(1500);
    expect(new Set(rows.map((t) => t.data.text)).size).toBe(1500);
    expect(rows.map((t) => t.innerId)).toEqual(Array.from({ length: 1500 }, (_, i) => i + 1));
    const objects = await database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(storageObjects);
    expect(objects[0]?.n).toBe(1500);
  }, 120_000);

  it("keeps inner_id dense and unique while API creates run beside a sync", async () => {
    const { caller, project } = await tenantWithProject();
    const bucket = await s3.createBucket();
    await putMany(bucket, 1, 300, "s");
    const storage = await s3Storage(caller, project.id, bucket);
    const syncing = syncAndWait(caller, storage.id);
    const creates = Array.from({ length: 60 }, (_, i) =>
      caller.task.create({ project: project.id, data: { text: `api ${i}` } }),
    );
    await Promise.all([syncing, ...creates]);
    const rows = await projectTasks(project.id);
    expect(rows).toHaveLength(360);
    expect(rows.map((t) => t.innerId)).toEqual(Array.from({ length: 360 }, (_, i) => i + 1));
  });

  it("stops with a clear error when the server does not list keys in S3's order", async () => {
    const { caller, project } = await tenantWithProject();
    const bucket = await s3.createBucket();
    // s3rver lists a folder walk: "a/b.json" before "a-c.json", where S3 lists "-" (0x2d)
    // before "/" (0x2f). Taking that order would make present objects look deleted.
    await s3.put(bucket, "a/b.json", JSON.stringify({ text: "nested" }));
    await s3.put(bucket, "a-c.json", JSON.stringify({ text: "flat" }));
    const storage = await s3Storage(caller, project.id, bucket, { recursive_scan: true });
    const done = await syncAndWait(caller, storage.id);
    expect(done.status).toBe("failed");
    expect(done.traceback).toBe(
      'The server listed "a-c.json" after "a/b.json": it does not list keys in S3\'s order (UTF-8 bytes), which syncing needs.',
    );
  });

  it("syncs storages with an interval once it has passed since their last sync, and no others", async () => {
    const { caller, project } = await tenantWithProject();
    const bucket = await s3.createBucket();
    await s3.put(bucket, key(1), JSON.stringify({ text: "periodic" }));
    const periodic = await s3Storage(caller, project.id, bucket, { sync_interval_minutes: 5 });
    const manual = await s3Storage(caller, project.id, bucket);
    const tick = syncTickDefinition(database.db, () => jobs);
    const runTick = () =>
      tick.handler({
        id: "tick",
        queue: SYNC_TICK_QUEUE,
        data: {},
        organizationId: null,
        attempt: 1,
        progress: {},
        signal: new AbortController().signal,
        commit: async () => {},
        setProgress: async () => {},
      });
    // Never synced: due at once.
    await runTick();
    const first = await caller.storage.byId({ type: "s3", id: periodic.id });
    expect(first.last_sync_job).toBeTruthy();
    expect((await caller.storage.byId({ type: "s3", id: manual.id })).last_sync_job).toBeNull();
    // Asking for a sync now answers the tick's (one unfinished sync per storage).
    const done = await syncAndWait(caller, periodic.id);
    expect(done).toMatchObject({ status: "completed", last_sync_job: first.last_sync_job });
    // Synced a minute ago: not due; six minutes ago: due.
    await runTick();
    expect((await caller.storage.byId({ type: "s3", id: periodic.id })).last_sync_job).toBe(
      done.last_sync_job,
    );
    await database.db.execute(
      sql`update jobs set finished_at = now() - interval '6 minutes' where id = ${done.last_sync_job}`,
    );
    await runTick();
    const next = await caller.storage.byId({ type: "s3", id: periodic.id });
    expect(next.last_sync_job).not.toBe(done.last_sync_job);
    expect((await caller.storage.byId({ type: "s3", id: manual.id })).last_sync_job).toBeNull();
  });

  it("hides a storage from other organizations", async () => {
    const { caller, project } = await tenantWithProject();
    const other = await tenantWithProject();
    const bucket = await s3.createBucket();
    const storage = await s3Storage(caller, project.id, bucket);
    await expect(other.caller.storage.byId({ type: "s3", id: storage.id })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: "No S3ImportStorage matches the given query.",
    });
    await expect(other.caller.storage.sync({ type: "s3", id: storage.id })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await expect(
      other.caller.storage.list({ type: "s3", project: project.id }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(caller.storage.byId({ type: "localfiles", id: storage.id })).rejects.toMatchObject(
      {
        code: "NOT_FOUND",
        message: "No LocalFilesImportStorage matches the given query.",
      },
    );
  });
});

describe("local folder storages", () => {
  it("reads only under TASKPORT_LOCAL_FILES_ROOT and syncs the folder's JSON files", async () => {
    const { caller, project } = await tenantWithProject();
    const folder = join(localRoot, `p${project.id}`);
    mkdirSync(join(folder, "nested"), { recursive: true });
    writeFileSync(join(folder, "a.json"), JSON.stringify({ text: "a" }));
    writeFileSync(join(folder, "b.json"), JSON.stringify({ text: "b" }));
    writeFileSync(join(folder, "nested", "c.json"), JSON.stringify({ text: "c" }));
    await expect(
      caller.storage.create({ type: "localfiles", project: project.id, path: tmpdir() }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("must be a subdirectory of TASKPORT_LOCAL_FILES_ROOT"),
    });
    await expect(
      caller.storage.create({
        type: "localfiles",
        project: project.id,
        path: join(folder, "missing"),
      }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("does not exist"),
    });

    const storage = await caller.storage.create({
      type: "localfiles",
      project: project.id,
      path: folder,
    });
    expect(storage).toMatchObject({ type: "localfiles", path: folder, status: "initialized" });
    const flat = await syncAndWait(caller, storage.id, "localfiles");
    expect(flat.meta).toMatchObject({ tasks_created: 2 });
    await caller.storage.update({ type: "localfiles", id: storage.id, recursive_scan: true });
    const deep = await syncAndWait(caller, storage.id, "localfiles");
    expect(deep.meta).toMatchObject({ tasks_created: 1, tasks_skipped: 2 });
    expect((await projectTasks(project.id)).map((t) => t.data.text)).toEqual(["a", "b", "c"]);
  });

  it("checks inline annotation and prediction results against the label config, by key", async () => {
    const { caller, project } = await tenantWithProject(`<View><Text name="text" value="$text"/>
      <Choices name="sentiment" toName="text"><Choice value="pos"/></Choices></View>`);
    const folder = join(localRoot, `results${project.id}`);
    mkdirSync(folder, { recursive: true });
    const region = (type: string) => ({
      from_name: "sentiment",
      to_name: "text",
      type,
      value: { choices: ["pos"] },
    });
    writeFileSync(
      join(folder, "good.json"),
      JSON.stringify({
        data: { text: "good" },
        annotations: [{ result: [region("choices")] }],
        predictions: [{ result: [region("choices")] }],
      }),
    );
    writeFileSync(
      join(folder, "bad-annotation.json"),
      JSON.stringify({ data: { text: "bad" }, annotations: [{ result: [region("labels")] }] }),
    );
    writeFileSync(
      join(folder, "bad-prediction.json"),
      JSON.stringify({ data: { text: "worse" }, predictions: [{ result: [region("labels")] }] }),
    );
    const storage = await caller.storage.create({
      type: "localfiles",
      project: project.id,
      path: folder,
    });
    const done = await syncAndWait(caller, storage.id, "localfiles");
    expect(done.status).toBe("completed_with_errors");
    expect(done.meta).toMatchObject({ tasks_created: 1, error_count: 2 });
    const traceback = done.traceback ?? "";
    const mismatch = "Type 'labels' does not match expected type 'choices' for control 'sentiment'";
    expect(traceback).toContain("bad-annotation.json (row 0):");
    expect(traceback).toContain("bad-prediction.json (row 0):");
    expect(traceback.split(mismatch)).toHaveLength(3);
    expect((await projectTasks(project.id)).map((t) => t.data.text)).toEqual(["good"]);
  });

  it("is refused when the server has no TASKPORT_LOCAL_FILES_ROOT", async () => {
    const { project, headers } = await tenantWithProject();
    const noRoot = createCaller(createTRPCContext({ db: database.db, headers, jobs, secretKey }));
    await expect(
      noRoot.storage.create({ type: "localfiles", project: project.id, path: localRoot }),
    ).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining("Local folder storages are disabled on this server"),
    });
  });

  it("checks an S3 endpoint against the network policy as it connects, not only when it was saved", async () => {
    const { caller, project } = await tenantWithProject();
    const bucket = await s3.createBucket();
    await s3.put(bucket, key(1), JSON.stringify({ text: "one" }));
    const created = await s3Storage(caller, project.id, bucket);
    const [row] = await database.db
      .select()
      .from(importStorages)
      .where(eq(importStorages.id, created.id));
    const list = async (policy: { allowNetworks?: string[] }) => {
      const keys: string[] = [];
      const source = openSource(row as NonNullable<typeof row>, { secretKey, network: policy });
      for await (const page of source.list(null)) keys.push(...page.objects.map((o) => o.key));
      return keys;
    };
    expect(await list(network)).toEqual([key(1)]);
    // The policy a sync runs under refuses loopback now: the listing fails for good (no retry).
    const refused = list({});
    await expect(refused).rejects.toBeInstanceOf(PermanentJobError);
    await expect(refused).rejects.toThrow(/endpoint was refused: 127\.0\.0\.1 refused: .*loopback/);
    const reader = openSource(row as NonNullable<typeof row>, { secretKey, network: {} });
    await expect(reader.read(key(1))).rejects.toThrow(/loopback/);
  });
});
