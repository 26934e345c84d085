/**
 * SIGTERM: every request the server had accepted gets its real answer, the server refuses new
 * connections from the moment it starts draining, and it closes its database pool before it
 * exits. Requests are held in flight by a lock this test holds on the API tokens (each request
 * looks its caller up there first), so the order of events is observed, never guessed with
 * sleeps.
 */
import { readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "./support/database";
import { postJson } from "./support/load";
import { seedTenant } from "./support/seed";
import { startTaskport, type TaskportProcess } from "./support/server";

const APP = `taskport-shutdown-${process.pid}`;
const IN_FLIGHT = 10;
const probeFile = join(tmpdir(), `${APP}.json`);

let database: Awaited<ReturnType<typeof createDatabase>>;
let server: TaskportProcess | undefined;

beforeAll(async () => {
  database = await createDatabase();
});
afterAll(async () => {
  await server?.kill("SIGKILL");
  await database?.drop();
  rmSync(probeFile, { force: true });
});

/** Polls `probe` until it answers something other than undefined. */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Opens a TCP connection to `port`: accepted, refused, or reset (a connection that reached the
 * listening socket's queue as it closed).
 */
function tryConnect(port: number): Promise<"accepted" | "refused" | "reset"> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("accepted");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED") resolve("refused");
      else if (error.code === "ECONNRESET") resolve("reset");
      else reject(error);
    });
  });
}

describe("graceful shutdown", () => {
  it("SIGTERM answers every accepted request, refuses new connections, closes the pool, then exits 0", async () => {
    const { token, projectIds } = await seedTenant(database.url);
    const project = projectIds[0] as number;
    const serverUrl = new URL(database.url);
    serverUrl.searchParams.set("application_name", APP);
    const probe = pathToFileURL(join(import.meta.dirname, "support", "exit-probe.mjs")).href;
    server = await startTaskport({
      DATABASE_URL: serverUrl.toString(),
      DATABASE_POOL_SIZE: "20",
      // The held requests wait on a lock for as long as this test holds it.
      DATABASE_LOCK_TIMEOUT_MS: "0",
      DATABASE_STATEMENT_TIMEOUT_MS: "0",
      DATABASE_ANSWER_TIMEOUT_MS: "600000",
      TASKPORT_JOB_WORKERS: "0",
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${probe}`.trim(),
      TASKPORT_EXIT_PROBE_FILE: probeFile,
      TASKPORT_EXIT_PROBE_URL: database.url,
      TASKPORT_EXIT_PROBE_APP: APP,
    });
    const { url, port } = server;
    const sql = postgres(database.url, { max: 2, onnotice: () => {} });
    let release = () => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    try {
      // Hold the API tokens: every request waits there for its caller, inside the server.
      let taken = () => {};
      const lockTaken = new Promise<void>((r) => {
        taken = r;
      });
      const holding = sql.begin(async (tx) => {
        await tx`lock table api_tokens in access exclusive mode`;
        taken();
        await released;
      });
      await lockTaken;

      let settled = 0;
      const inFlight = Array.from({ length: IN_FLIGHT }, (_, i) =>
        postJson(`${url}/api/tasks/`, token, { data: { text: `t${i}` }, project }, 120_000)
          .then(async (r) => ({ status: r.status, body: (await r.json()) as { id?: number } }))
          .finally(() => {
            settled++;
          }),
      );
      // Every request has reached the database and waits there: accepted and in flight.
      const waitingSql = () => sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where application_name = ${APP} and wait_event_type = 'Lock'`;
      await until("the requests to wait on the lock", async () =>
        (await waitingSql())[0]?.n === IN_FLIGHT ? true : undefined,
      );

      server.child.kill("SIGTERM");
      // New connections are refused while the accepted requests are still in flight.
      await until("the server to stop listening", async () =>
        (await tryConnect(port)) === "refused" ? true : undefined,
      );
      await expect(fetch(`${url}/api/health`)).rejects.toMatchObject({
        cause: { code: "ECONNREFUSED" },
      });
      expect(settled).toBe(0);
      expect((await waitingSql())[0]?.n).toBe(IN_FLIGHT);
      expect(server.child.exitCode).toBeNull();

      release();
      await holding;
      const results = await Promise.all(inFlight);
      expect(results.map((r) => r.status)).toEqual(Array(IN_FLIGHT).fill(201));
      const code = await server.exited;
      expect(code).toBe(0);
      // Observed inside the process as it exited: no connection of its pool was left open.
      expect(JSON.parse(readFileSync(probeFile, "utf8"))).toEqual({ code: 0, connections: 0 });

      const ids = results.map((r) => r.body.id);
      const rows = await sql<{ id: number }[]>`
        select id::int from tasks where project_id = ${project} order by id`;
      expect(rows.map((r) => r.id)).toEqual([...ids].sort((a, b) => (a ?? 0) - (b ?? 0)));
    } finally {
      release();
      await sql.end();
    }
  });
});
