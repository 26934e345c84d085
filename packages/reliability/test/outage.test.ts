import { migratePostgres } from "@taskport/api/db";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, createCluster } from "./support/database";
import { postJson } from "./support/load";
import { seedTenant } from "./support/seed";
import { startTaskport, type TaskportProcess } from "./support/server";

let cluster: Cluster;
let server: TaskportProcess | undefined;

beforeAll(async () => {
  cluster = await createCluster();
  await migratePostgres(cluster.url);
});
afterAll(async () => {
  await server?.kill("SIGKILL");
  cluster?.destroy();
});

describe("PostgreSQL stopped under load", () => {
  it("fails fast with 503 while it is down, and the same process recovers when it is back", async () => {
    const { token, projectIds } = await seedTenant(cluster.url);
    const project = projectIds[0] as number;
    server = await startTaskport({ DATABASE_URL: cluster.url });
    const url = server.url;
    const pid = server.child.pid;
    const acknowledged: number[] = [];
    const create = async (label: string) => {
      const started = Date.now();
      const res = await postJson(`${url}/api/tasks/`, token, { data: { text: label }, project });
      const body = (await res.json()) as { id?: number; detail?: string; status_code?: number };
      if (res.status === 201 && body.id) acknowledged.push(body.id);
      return { status: res.status, body, ms: Date.now() - started };
    };

    for (let i = 0; i < 50; i++) expect((await create(`before ${i}`)).status).toBe(201);

    cluster.stop("fast");
    const during = [];
    for (let i = 0; i < 20; i++) during.push(await create(`during ${i}`));
    const health = await fetch(`${url}/api/health`);
    expect(health.status).toBe(503);
    for (const r of during) {
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({
        status_code: 503,
        detail: expect.stringMatching(/database is unavailable/i),
      });
      expect(JSON.stringify(r.body)).not.toMatch(/\bat .+:\d+:\d+/);
      // Bounded: no request waits for the database to come back.
      expect(r.ms).toBeLessThan(15_000);
    }

    cluster.start();
    let recovered = false;
    for (let i = 0; i < 100 && !recovered; i++) {
      recovered = (await create(`after ${i}`)).status === 201;
      if (!recovered) await new Promise((r) => setTimeout(r, 200));
    }
    expect(recovered).toBe(true);
    for (let i = 0; i < 50; i++) expect((await create(`after more ${i}`)).status).toBe(201);
    expect(server.child.pid).toBe(pid);
    expect(server.child.exitCode).toBeNull();

    const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql<{ id: string }[]>`select id from tasks where project_id = ${project}`;
      const ids = new Set(rows.map((r) => Number(r.id)));
      expect(acknowledged.filter((id) => !ids.has(id))).toEqual([]);
      expect(rows).toHaveLength(acknowledged.length);
    } finally {
      await sql.end();
    }
  });
});
