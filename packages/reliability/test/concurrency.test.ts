import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "./support/database";
import { createClient, importItems, newTally, postJson } from "./support/load";
import { seedTenant } from "./support/seed";
import { startTaskport, type TaskportProcess } from "./support/server";

let database: Awaited<ReturnType<typeof createDatabase>>;
let servers: TaskportProcess[] = [];

beforeAll(async () => {
  database = await createDatabase();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill("SIGKILL")));
  await database?.drop();
});

describe("two server processes on one PostgreSQL", () => {
  it("8 clients x 500 creates plus a 5,000-task import: every 201 is a row, inner_ids exactly 1..N, no 5xx", async () => {
    const { token, projectIds } = await seedTenant(database.url);
    const project = projectIds[0] as number;
    servers = [
      await startTaskport({ DATABASE_URL: database.url, DATABASE_POOL_SIZE: "8" }),
      await startTaskport({ DATABASE_URL: database.url, DATABASE_POOL_SIZE: "8" }),
    ];
    const [a, b] = servers as [TaskportProcess, TaskportProcess];
    const tally = newTally();
    const clients = Array.from({ length: 8 }, (_, i) =>
      createClient({
        count: 500,
        token,
        project,
        tally,
        label: `client ${i}`,
        pick: (k) => ((i + k) % 2 ? a.url : b.url),
      }),
    );
    // The body is read as soon as it arrives: left unread while the clients run, the idle
    // keep-alive connection would be closed under it.
    const imported = postJson(
      `${b.url}/api/projects/${project}/import?return_task_ids=true`,
      token,
      importItems(5_000, "import"),
    ).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { task_count: number; task_ids: number[] },
    }));
    const [importResponse] = await Promise.all([imported, ...clients]);

    expect(tally.serverErrors).toEqual([]);
    expect(tally.networkErrors).toBe(0);
    expect(tally.acknowledged).toHaveLength(4_000);
    expect(importResponse.status).toBe(201);
    const importBody = importResponse.body;
    expect(importBody.task_count).toBe(5_000);

    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql<{ id: string; inner_id: string }[]>`
        select id, inner_id from tasks where project_id = ${project} order by inner_id`;
      const innerIds = rows.map((r) => Number(r.inner_id));
      expect(innerIds).toEqual(Array.from({ length: 9_000 }, (_, i) => i + 1));
      const ids = new Set(rows.map((r) => Number(r.id)));
      expect(tally.acknowledged.filter((id) => !ids.has(id))).toEqual([]);
      expect(importBody.task_ids.filter((id) => !ids.has(id))).toEqual([]);
      const [counter] = await sql<{ task_number: number; last_inner_id: string }[]>`
        select task_number, last_inner_id from projects where id = ${project}`;
      expect(counter).toEqual({ task_number: 9_000, last_inner_id: "9000" });
    } finally {
      await sql.end();
    }
  });
});
