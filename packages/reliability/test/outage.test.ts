/**
 * PostgreSQL stopped, then frozen (SIGSTOP of all its processes: a paused VM or a network
 * black hole), under 8 clients of creates: every answer comes within its bound (503 with a
 * clear detail and Retry-After while the database is away), /api/health within 2 s, the same
 * process serves again within 2 s of the database's return, and nothing acknowledged is lost
 * or half-written. The latencies measured are printed for the record.
 */
import { migratePostgres, POSTGRES_DEFAULTS } from "@taskport/api/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, createCluster } from "./support/database";
import { checkOutcome, underLoad } from "./support/outage";
import { seedTenant } from "./support/seed";
import { startTaskport, type TaskportProcess } from "./support/server";

const { poolTimeoutMs, connectTimeoutMs, answerTimeoutMs } = POSTGRES_DEFAULTS;

let cluster: Cluster;
let server: TaskportProcess | undefined;

beforeAll(async () => {
  cluster = await createCluster();
  await migratePostgres(cluster.url);
  server = await startTaskport({ DATABASE_URL: cluster.url });
});
afterAll(async () => {
  await server?.kill("SIGKILL");
  cluster?.destroy();
});

describe("PostgreSQL away under load", () => {
  it("stopped: 503 at once while it is down, the same process serving within 2 s of its start", async () => {
    const { token, projectIds } = await seedTenant(cluster.url);
    const project = projectIds[0] as number;
    const pid = server?.child.pid;
    const outcome = await underLoad(
      (server as TaskportProcess).url,
      "stop",
      project,
      token,
      { begin: () => cluster.stop("fast"), end: () => cluster.start() },
      6_000,
    );
    // A stopped server refuses connections: nothing waits longer than opening one.
    await checkOutcome(cluster.url, "stop", project, outcome, connectTimeoutMs);
    expect(server?.child.pid).toBe(pid);
    expect(server?.child.exitCode).toBeNull();
  });

  it("frozen: 503 within the pool and answer bounds, the same process serving within 2 s of the thaw", async () => {
    const { token, projectIds } = await seedTenant(cluster.url);
    const project = projectIds[0] as number;
    const pid = server?.child.pid;
    // Longer than the longest wait, so that creates start and end within the freeze.
    const outcome = await underLoad(
      (server as TaskportProcess).url,
      "freeze",
      project,
      token,
      { begin: () => cluster.freeze(), end: () => cluster.thaw() },
      poolTimeoutMs + answerTimeoutMs + 4_000,
    );
    // Worst case: a wait for a connection, then the server's silence up to the answer bound.
    await checkOutcome(cluster.url, "freeze", project, outcome, poolTimeoutMs + answerTimeoutMs);
    expect(server?.child.pid).toBe(pid);
    expect(server?.child.exitCode).toBeNull();
  });
});
