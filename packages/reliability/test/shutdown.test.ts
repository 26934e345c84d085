import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "./support/database";
import { postJson } from "./support/load";
import { seedTenant } from "./support/seed";
import { startTaskport, type TaskportProcess } from "./support/server";

let database: Awaited<ReturnType<typeof createDatabase>>;
let server: TaskportProcess | undefined;

beforeAll(async () => {
  database = await createDatabase();
});
afterAll(async () => {
  await server?.kill("SIGKILL");
  await database?.drop();
});

describe("graceful shutdown", () => {
  it("SIGTERM lets in-flight requests finish, refuses new ones, closes the pool and exits 0", async () => {
    const { token, projectIds } = await seedTenant(database.url);
    const project = projectIds[0] as number;
    server = await startTaskport({ DATABASE_URL: database.url });
    const url = server.url;
    const inFlight = Array.from({ length: 200 }, (_, i) =>
      postJson(`${url}/api/tasks/`, token, { data: { text: `t${i}` }, project }).then(
        async (r) => ({ status: r.status, body: (await r.json()) as { id?: number } }),
        () => ({ status: 0, body: {} as { id?: number } }),
      ),
    );
    await new Promise((r) => setTimeout(r, 30));
    server.child.kill("SIGTERM");
    const results = await Promise.all(inFlight);
    const code = await server.exited;
    expect(code).toBe(0);
    expect(results.filter((r) => r.status >= 500)).toEqual([]);
    const acknowledged = results.filter((r) => r.status === 201).map((r) => r.body.id as number);
    expect(acknowledged.length).toBeGreaterThan(0);
    // After exit nothing listens any more.
    await expect(fetch(`${url}/api/health`)).rejects.toThrow();

    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql<{ id: string }[]>`select id from tasks where project_id = ${project}`;
      const ids = new Set(rows.map((r) => Number(r.id)));
      expect(acknowledged.filter((id) => !ids.has(id))).toEqual([]);
      // The pool was closed: no connection of the server's is left on the database.
      const [{ n }] =
        (await sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`) as unknown as [
          { n: number },
        ];
      expect(n).toBe(0);
    } finally {
      await sql.end();
    }
  });
});
