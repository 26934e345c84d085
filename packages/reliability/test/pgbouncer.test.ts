/**
 * Taskport behind a real PgBouncer (Debian's, 1.18: no prepared-statement support) in
 * transaction mode: migrations through it, the concurrency run with prepared statements off
 * (and proof from the server's own log that no named statement reached it), and the load that
 * used to stop the process answering, run with prepared statements left on.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { migratePostgres, migrationsFolder, POSTGRES_DEFAULTS } from "@taskport/api/db";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, createCluster } from "./support/database";
import {
  type CreateRecord,
  createClient,
  importItems,
  newTally,
  postJson,
  sleep,
  timedCreate,
  timedHealth,
} from "./support/load";
import { checkOutcome, underLoad } from "./support/outage";
import { type PgBouncer, startPgBouncer } from "./support/pgbouncer";
import { seedTenant } from "./support/seed";
import { startTaskport, type TaskportProcess } from "./support/server";

const SLACK_MS = 1_500;
const { poolTimeoutMs, answerTimeoutMs } = POSTGRES_DEFAULTS;

let cluster: Cluster;
let bouncer: PgBouncer;
const servers: TaskportProcess[] = [];
let admin: postgres.Sql;

beforeAll(async () => {
  cluster = await createCluster();
  admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  // Round robin: consecutive transactions of one client land on different server
  // connections, as they do on a busy pooler.
  bouncer = await startPgBouncer(cluster.url, { pool_mode: "transaction", server_round_robin: 1 });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill("SIGKILL")));
  await bouncer?.stop();
  await admin?.end();
  cluster?.destroy();
});

/** A fresh database on the cluster: its direct URL and its URL through PgBouncer. */
async function freshDatabase(options: { logStatements?: boolean } = {}) {
  const name = `taskport_pgb_${randomBytes(4).toString("hex")}`;
  await admin.unsafe(`create database ${name}`);
  // Every statement the server executes is logged with its prepared statement's name.
  if (options.logStatements) await admin.unsafe(`alter database ${name} set log_statement = 'all'`);
  const direct = new URL(cluster.url);
  direct.pathname = `/${name}`;
  const pooled = new URL(bouncer.url);
  pooled.pathname = `/${name}`;
  return { name, direct: direct.toString(), pooled: pooled.toString() };
}

/** The names of the prepared statements the server executed, from its log. */
function executedStatements(log: string): Set<string> {
  const names = new Set<string>();
  for (const line of log.split("\n")) {
    const match = / execute ([^:]+):/.exec(line);
    if (match?.[1]) names.add(match[1]);
  }
  return names;
}

describe("behind PgBouncer in transaction mode", () => {
  it("migrates through it: two migrations at once, then nothing left to do", async () => {
    const db = await freshDatabase();
    await Promise.all([migratePostgres(db.pooled), migratePostgres(db.pooled)]);
    await migratePostgres(db.pooled);
    const sql = postgres(db.direct, { max: 1, onnotice: () => {} });
    try {
      const applied = await sql`select hash from drizzle.__drizzle_migrations`;
      const journal = JSON.parse(
        readFileSync(join(migrationsFolder, "meta", "_journal.json"), "utf8"),
      ) as { entries: unknown[] };
      expect(applied).toHaveLength(journal.entries.length);
      const [tasks] = await sql`select to_regclass('public.tasks') as t`;
      expect(tasks?.t).toBe("tasks");
    } finally {
      await sql.end();
    }
  });

  it("with prepared statements off: two processes, 8 clients x 300 creates plus a 5,000-task import, inner_ids exactly 1..N, no 5xx, no hang", async () => {
    const db = await freshDatabase({ logStatements: true });
    await migratePostgres(db.pooled);
    const { token, projectIds } = await seedTenant(db.direct);
    const project = projectIds[0] as number;
    const env = { DATABASE_URL: db.pooled, DATABASE_PREPARE: "false", DATABASE_POOL_SIZE: "8" };
    // Only this database logs its statements; tests run one after another.
    const logFrom = cluster.log().length;
    const a = await startTaskport(env);
    const b = await startTaskport(env);
    servers.push(a, b);
    const tally = newTally();
    const clients = Array.from({ length: 8 }, (_, i) =>
      createClient({
        count: 300,
        token,
        project,
        tally,
        label: `client ${i}`,
        pick: (k) => ((i + k) % 2 ? a.url : b.url),
      }),
    );
    const imported = postJson(
      `${b.url}/api/projects/${project}/import?return_task_ids=true`,
      token,
      importItems(5_000, "import"),
    ).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { task_count: number; task_ids: number[] },
    }));
    const [importResponse] = await Promise.all([imported, ...clients]);
    const log = cluster.log().slice(logFrom);

    expect(tally.serverErrors).toEqual([]);
    expect(tally.networkErrors).toBe(0);
    expect(tally.acknowledged).toHaveLength(2_400);
    expect(importResponse.status).toBe(201);
    expect(importResponse.body.task_count).toBe(5_000);
    const sql = postgres(db.direct, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql<{ id: string; inner_id: string }[]>`
        select id, inner_id from tasks where project_id = ${project} order by inner_id`;
      expect(rows.map((r) => Number(r.inner_id))).toEqual(
        Array.from({ length: 7_400 }, (_, i) => i + 1),
      );
      const ids = new Set(rows.map((r) => Number(r.id)));
      expect(tally.acknowledged.filter((id) => !ids.has(id))).toEqual([]);
      expect(importResponse.body.task_ids.filter((id) => !ids.has(id))).toEqual([]);
    } finally {
      await sql.end();
    }
    // The server executed statements of this database, and none of them was a named one.
    const executed = executedStatements(log);
    expect(executed).toContain("<unnamed>");
    expect([...executed].filter((name) => name !== "<unnamed>")).toEqual([]);
    await Promise.all([a.kill("SIGKILL"), b.kill("SIGKILL")]);
  });

  it("with prepared statements left on, under 32 clients: the process keeps answering, every create a 201 with its own row or a 503, health within 2 s", async () => {
    const db = await freshDatabase({ logStatements: true });
    await migratePostgres(db.pooled);
    const { token, projectIds } = await seedTenant(db.direct);
    const project = projectIds[0] as number;
    const logFrom = cluster.log().length;
    const server = await startTaskport({ DATABASE_URL: db.pooled });
    servers.push(server);
    const creates: CreateRecord[] = [];
    const health: { ms: number; status: number }[] = [];
    const until = Date.now() + 6_000;
    await Promise.all([
      ...Array.from({ length: 32 }, async (_, i) => {
        for (let k = 0; Date.now() < until; k++)
          creates.push(await timedCreate(server.url, token, project, `c${i}-${k}`));
      }),
      (async () => {
        while (Date.now() < until) {
          health.push(await timedHealth(server.url));
          await sleep(250);
        }
      })(),
    ]);
    const after = await timedHealth(server.url);
    const unavailable = creates.filter((r) => r.status === 503);
    console.log(
      `[pgbouncer] ${JSON.stringify({
        creates: creates.length,
        unavailable: unavailable.length,
        maxCreateMs: Math.max(...creates.map((r) => r.ms)),
        maxHealthMs: Math.max(...health.map((h) => h.ms)),
      })}`,
    );

    expect(creates.length).toBeGreaterThan(100);
    expect(creates.filter((r) => r.status !== 201 && r.status !== 503)).toEqual([]);
    expect(creates.filter((r) => r.ms > poolTimeoutMs + answerTimeoutMs + SLACK_MS)).toEqual([]);
    expect(health.filter((h) => h.ms > 2_000 + SLACK_MS)).toEqual([]);
    expect(after.status).toBe(200);
    // Named statements did reach the server through the pooler (the case this covers)...
    const executed = executedStatements(cluster.log().slice(logFrom));
    expect([...executed].some((name) => name !== "<unnamed>")).toBe(true);
    // ...and no answer went to the wrong query: every 201 is the row its client sent.
    const sql = postgres(db.direct, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql<{ id: string; text: string }[]>`
        select id, data->>'text' as text from tasks where project_id = ${project}`;
      const byId = new Map(rows.map((r) => [Number(r.id), r.text]));
      const created = creates.filter((r) => r.status === 201);
      expect(created.filter((r) => byId.get(r.id as number) !== r.text)).toEqual([]);
    } finally {
      await sql.end();
    }
  });

  it("frozen itself (SIGSTOP) under load: 503 within the bounds, the same process serving within 2 s of the thaw", async () => {
    const db = await freshDatabase();
    await migratePostgres(db.pooled);
    const { token, projectIds } = await seedTenant(db.direct);
    const project = projectIds[0] as number;
    const server = await startTaskport({ DATABASE_URL: db.pooled, DATABASE_PREPARE: "false" });
    servers.push(server);
    const outcome = await underLoad(
      server.url,
      "pgbouncer-freeze",
      project,
      token,
      { begin: () => bouncer.freeze(), end: () => bouncer.thaw() },
      poolTimeoutMs + answerTimeoutMs + 4_000,
    );
    await checkOutcome(
      db.direct,
      "pgbouncer-freeze",
      project,
      outcome,
      poolTimeoutMs + answerTimeoutMs,
    );
    expect(server.child.exitCode).toBeNull();
  });
});
