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
  it("keeps every acknowledged create, shows all of an import or none, and serves at once after restart", async () => {
    const { token, projectIds } = await seedTenant(database.url);
    const project = projectIds[0] as number;
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
      `${first.url}/api/projects/${project}/import`,
      token,
      importItems(20_000, "crash-import"),
    ).then(
      (r) => r.status,
      () => "dropped" as const,
    );
    // Let load build up, then kill the process without warning.
    while (tally.acknowledged.length < 300) await new Promise((r) => setTimeout(r, 20));
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
      const rows = await sql<{ id: string; inner_id: string; source: string | null }[]>`
        select id, inner_id, data->>'source' as source from tasks where project_id = ${project} order by inner_id`;
      const ids = new Set(rows.map((r) => Number(r.id)));
      const lost = tally.acknowledged.filter((id) => !ids.has(id));
      expect(lost).toEqual([]);
      const importedRows = rows.filter((r) => r.source === "crash-import").length;
      expect([0, 20_000]).toContain(importedRows);
      if (importOutcome === 201) expect(importedRows).toBe(20_000);
      // Rolled-back work gave its numbers back: what is committed is still 1..N.
      expect(rows.map((r) => Number(r.inner_id))).toEqual(rows.map((_, i) => i + 1));
    } finally {
      await sql.end();
    }
  });
});
