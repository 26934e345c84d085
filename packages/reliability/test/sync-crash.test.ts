/**
 * kill -9 in the middle of a storage sync, on real processes: a Taskport server syncing 6,000
 * JSON objects from a real S3-API server (s3rver) is killed without warning after its first
 * committed batch; a new server on the same database takes the job over and finishes it. Every
 * object must end as exactly one task, with inner_id exactly 1..N.
 */
import { createS3Fixture } from "@taskport/api/test-support";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "./support/database";
import { seedTenant } from "./support/seed";
import { startTaskport, type TaskportProcess } from "./support/server";

const OBJECTS = 6000;

let database: Awaited<ReturnType<typeof createDatabase>>;
let s3: Awaited<ReturnType<typeof createS3Fixture>>;
const started: TaskportProcess[] = [];

beforeAll(async () => {
  [database, s3] = await Promise.all([createDatabase(), createS3Fixture()]);
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.kill("SIGKILL")));
  await s3?.close();
  await database?.drop();
});

async function api(base: string, token: string, method: string, path: string, json?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Token ${token}`,
      ...(json === undefined ? {} : { "content-type": "application/json" }),
    },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** Waits for `done` (polling), failing the test rather than hanging past `seconds`. */
async function until<T>(seconds: number, what: string, poll: () => Promise<T | undefined>) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await poll();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("kill -9 during a storage sync", () => {
  it("resumes on restart and makes every object exactly one task", async () => {
    const bucket = await s3.createBucket();
    const keys = Array.from(
      { length: OBJECTS },
      (_, i) => `obj-${String(i).padStart(5, "0")}.json`,
    );
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(
        keys.slice(i, i + 100).map((key) => s3.put(bucket, key, JSON.stringify({ text: key }))),
      );
    }
    const { token, projectIds } = await seedTenant(database.url);
    const project = projectIds[0] as number;
    // Stale after 2 s: the restarted server takes the dead one's job over quickly.
    const env = {
      DATABASE_URL: database.url,
      TASKPORT_JOB_STALE_SECONDS: "2",
      // s3rver listens on loopback, which storages may reach only when allowed.
      TASKPORT_OUTBOUND_ALLOW_NETWORKS: "127.0.0.0/8",
    };
    const first = await startTaskport(env);
    started.push(first);

    const created = await api(first.url, token, "POST", "/api/storages/s3", {
      project,
      bucket,
      s3_endpoint: s3.endpoint,
      aws_access_key_id: s3.accessKeyId,
      aws_secret_access_key: s3.secretAccessKey,
    });
    expect(created.status).toBe(201);
    const sync = await api(first.url, token, "POST", `/api/storages/s3/${created.body.id}/sync`);
    const jobId: string = sync.body.last_sync_job;

    // Kill the server as soon as a first batch is committed, well before the end.
    await until(60, "a first committed batch", async () => {
      const job = await api(first.url, token, "GET", `/api/jobs/${jobId}/`);
      expect(job.body.status).not.toBe("completed");
      return job.body.progress.tasks_created > 0 ? true : undefined;
    });
    first.child.kill("SIGKILL");
    await first.exited;

    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      const [before] = await sql<{ status: string; n: number }[]>`
        select status, (select count(*)::int from tasks where project_id = ${project}) as n
        from jobs where id = ${jobId}`;
      expect(before?.status).toBe("running");
      expect(before?.n).toBeGreaterThan(0);
      expect(before?.n).toBeLessThan(OBJECTS);

      const second = await startTaskport(env);
      started.push(second);
      const job = await until(120, "the job to end", async () => {
        const body = (await api(second.url, token, "GET", `/api/jobs/${jobId}/`)).body as {
          status: string;
          attempt: number;
          progress: Record<string, number>;
        };
        return ["queued", "running", "retrying"].includes(body.status) ? undefined : body;
      });
      expect(job.status).toBe("completed");
      expect(job.attempt).toBe(2);
      expect(job.progress.tasks_created).toBe(OBJECTS);
      expect(job.progress.error_count).toBe(0);

      const rows = await sql<{ inner_id: string; text: string }[]>`
        select inner_id, data->>'text' as text from tasks where project_id = ${project} order by inner_id`;
      expect(rows).toHaveLength(OBJECTS);
      expect(new Set(rows.map((r) => r.text)).size).toBe(OBJECTS);
      expect(rows.map((r) => Number(r.inner_id))).toEqual(rows.map((_, i) => i + 1));
      const [links] = await sql<{ n: number; keys: number }[]>`
        select count(*)::int as n, count(distinct key)::int as keys from storage_links`;
      expect(links).toEqual({ n: OBJECTS, keys: OBJECTS });

      // A sync of the unchanged bucket afterwards creates nothing.
      const again = await api(
        second.url,
        token,
        "POST",
        `/api/storages/s3/${created.body.id}/sync`,
      );
      expect(again.status).toBe(200);
      const resynced = await until(60, "the re-sync to end", async () => {
        const storage = await api(second.url, token, "GET", `/api/storages/s3/${created.body.id}`);
        const done = storage.body.last_sync_job !== jobId && storage.body.status === "completed";
        return done ? storage.body : undefined;
      });
      expect(resynced.meta).toMatchObject({ tasks_created: 0, tasks_skipped: OBJECTS });
    } finally {
      await sql.end();
    }
  });
});
