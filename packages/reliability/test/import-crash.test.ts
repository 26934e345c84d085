/**
 * kill -9 in the middle of an import run as a job, on real processes: a Taskport server
 * importing a large CSV file (async=true) is killed without warning once the job reports rows
 * read; nothing of the import is visible, and a new server on the same database and media
 * folder imports it again from the start: every row exactly one task, inner_id exactly 1..N.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "./support/database";
import { seedTenant } from "./support/seed";
import { startTaskport, type TaskportProcess } from "./support/server";

const ROWS = 200_000;

let database: Awaited<ReturnType<typeof createDatabase>>;
let media: string;
const started: TaskportProcess[] = [];

beforeAll(async () => {
  database = await createDatabase();
  media = await mkdtemp(join(tmpdir(), "taskport-import-crash-"));
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.kill("SIGKILL")));
  await database?.drop();
  if (media) await rm(media, { recursive: true, force: true });
});

async function get(base: string, token: string, path: string) {
  const response = await fetch(`${base}${path}`, { headers: { authorization: `Token ${token}` } });
  return { status: response.status, body: JSON.parse(await response.text()) };
}

/** Waits for `poll` to answer, failing the test rather than hanging past `seconds`. */
async function until<T>(seconds: number, what: string, poll: () => Promise<T | undefined>) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await poll();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("kill -9 during an import job", () => {
  it("leaves no task, then the restarted server imports every row exactly once", async () => {
    const { token, projectIds } = await seedTenant(database.url);
    const project = projectIds[0] as number;
    const env = {
      DATABASE_URL: database.url,
      TASKPORT_JOB_STALE_SECONDS: "2",
      TASKPORT_MEDIA_DIR: media,
    };
    const first = await startTaskport(env);
    started.push(first);

    const rows = Array.from({ length: ROWS }, (_, i) => `row ${i}`).join("\n");
    const form = new FormData();
    form.append("file", new Blob([`text\n${rows}\n`]), "rows.csv");
    const answer = await fetch(`${first.url}/api/projects/${project}/import?async=true`, {
      method: "POST",
      headers: { authorization: `Token ${token}` },
      body: form,
    });
    expect(answer.status).toBe(201);
    const { import: importId, job: jobId } = (await answer.json()) as {
      import: number;
      job: string;
    };

    // Kill the server once the job reports rows read, well before the end.
    await until(60, "rows read", async () => {
      const job = await get(first.url, token, `/api/jobs/${jobId}/`);
      expect(job.body.status).not.toBe("completed");
      return job.body.progress.tasks_read > 0 ? true : undefined;
    });
    first.child.kill("SIGKILL");
    await first.exited;

    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      const [before] = await sql<{ status: string; n: number }[]>`
        select status, (select count(*)::int from tasks where project_id = ${project}) as n
        from jobs where id = ${jobId}`;
      expect(before).toEqual({ status: "running", n: 0 });

      const second = await startTaskport(env);
      started.push(second);
      const record = await until(180, "the import to end", async () => {
        const { body } = await get(
          second.url,
          token,
          `/api/projects/${project}/imports/${importId}/`,
        );
        return body.status === "completed" || body.status === "failed" ? body : undefined;
      });
      expect(record).toMatchObject({ status: "completed", task_count: ROWS, error: null });
      // The job ends once the import is committed, a moment after.
      const job = await until(10, "the job to end", async () => {
        const answer = await get(second.url, token, `/api/jobs/${jobId}/`);
        return answer.body.status === "running" ? undefined : answer;
      });
      expect(job.body).toMatchObject({
        status: "completed",
        attempt: 2,
        progress: { tasks_read: ROWS, tasks_written: ROWS },
      });

      const [tasks] = await sql<{ n: number; texts: number; min: number; max: number }[]>`
        select count(*)::int as n, count(distinct data->>'text')::int as texts,
          min(inner_id)::int as min, max(inner_id)::int as max
        from tasks where project_id = ${project}`;
      expect(tasks).toEqual({ n: ROWS, texts: ROWS, min: 1, max: ROWS });
    } finally {
      await sql.end();
    }
  });
});
