import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "./support/database";
import { createClient, importItems, newTally, postJson } from "./support/load";
import { seedTenant } from "./support/seed";
import { startTaskport, type TaskportProcess } from "./support/server";

let database: Awaited<ReturnType<typeof createDatabase>>;
const started: TaskportProcess[] = [];

beforeAll(async () => {
  database = await createDatabase();
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.kill("SIGKILL")));
  await database?.drop();
});

describe("kill -9 under load", () => {
  it("keeps every acknowledged create, leaves nothing of an import killed midway, and serves at once after restart", async () => {
    const { token, projectIds } = await seedTenant(database.url, 2);
    const project = projectIds[0] as number;
    // The import goes to a project of its own.
    const importProject = projectIds[1] as number;
    const env = { DATABASE_URL: database.url };
    const first = await startTaskport(env);
    started.push(first);
    const tally = newTally();
    let crashed = false;
    const clients = Array.from({ length: 8 }, (_, i) =>
      createClient({
        count: 100_000,
        token,
        project,
        tally,
        label: `c${i}`,
        pick: () => first.url,
        stop: () => crashed,
      }),
    );
    const importing = postJson(
      `${first.url}/api/projects/${importProject}/import`,
      token,
      importItems(20_000, "crash-import"),
    ).then(
      (r) => r.status,
      () => "dropped" as const,
    );
    // Kill the process without warning while the import is writing its rows into tasks (its
    // final COPY, services/import.ts): its transaction, still open, has written part of them.
    const probe = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const [staged] = await probe<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()
            and state in ('active', 'idle in transaction')
            and query like 'copy tasks %'`;
        if (staged?.n) break;
        if (Date.now() > deadline) throw new Error("The import never started writing.");
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await probe.end();
    }
    first.child.kill("SIGKILL");
    crashed = true;
    await first.exited;
    await Promise.all(clients);
    const importOutcome = await importing;

    const restarted = await startTaskport(env, first.port);
    started.push(restarted);
    const afterRestart = await postJson(`${restarted.url}/api/tasks/`, token, {
      data: { text: "after" },
      project,
    });
    expect(afterRestart.status).toBe(201);

    expect(tally.serverErrors).toEqual([]);
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql<{ id: string; inner_id: string }[]>`
        select id, inner_id from tasks where project_id = ${project} order by inner_id`;
      const ids = new Set(rows.map((r) => Number(r.id)));
      const lost = tally.acknowledged.filter((id) => !ids.has(id));
      expect(lost).toEqual([]);
      // The import was killed before its commit: none of it is visible, and it got no answer.
      expect(importOutcome).toBe("dropped");
      const [imported] = await sql<{ n: number }[]>`
        select count(*)::int as n from tasks where project_id = ${importProject}`;
      expect(imported?.n).toBe(0);
      // Rolled-back work gave its numbers back: what is committed is still 1..N.
      expect(rows.map((r) => Number(r.inner_id))).toEqual(rows.map((_, i) => i + 1));
    } finally {
      await sql.end();
    }
  });
});
