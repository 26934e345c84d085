/**
 * TASKPORT_WORKERS=2: two server processes on one port under a supervising primary. Creates
 * through both keep inner_id dense; a worker killed with SIGKILL is replaced while the other
 * serves; SIGTERM to the primary stops both workers and then the primary, with exit code 0.
 */
import { execFileSync } from "node:child_process";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "./support/database";
import { postJson } from "./support/load";
import { seedTenant } from "./support/seed";
import { startTaskport, type TaskportProcess } from "./support/server";

let database: Awaited<ReturnType<typeof createDatabase>>;
let server: TaskportProcess | undefined;
let token: string;
let project: number;

beforeAll(async () => {
  database = await createDatabase();
  ({
    token,
    projectIds: [project = 0],
  } = await seedTenant(database.url));
});
afterAll(async () => {
  if (server) for (const pid of workerPids(server)) kill(pid, "SIGKILL");
  await server?.kill("SIGKILL");
  await database?.drop();
});

/** The primary's workers: its child processes that run server.ts (tsx's esbuild is another). */
function workerPids(primary: TaskportProcess): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(primary.child.pid), "-f", "server\\.ts"], {
      encoding: "utf8",
    })
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when there is none
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function kill(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(pid, signal);
  } catch {}
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; the server said:\n${server?.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `count` creates, 8 at a time, each on a new connection; answers their statuses. */
async function creates(count: number): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        next += 1;
        const res = await postJson(`${server?.url}/api/tasks/`, token, {
          data: { text: `w${next}` },
          project,
        });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
    }),
  );
  return statuses;
}

describe("TASKPORT_WORKERS=2", () => {
  it("serves from two workers, replaces one killed, and stops them all on SIGTERM", async () => {
    server = await startTaskport({ DATABASE_URL: database.url, TASKPORT_WORKERS: "2" });
    const primary = server;
    const first = await until("two workers", () => {
      const pids = workerPids(primary);
      return pids.length === 2 && primary.output().split("ready on").length === 3
        ? pids
        : undefined;
    });

    expect(await creates(200)).toEqual(Array(200).fill(201));

    // One worker dies: the other keeps serving, and the primary starts a replacement.
    kill(first[0] as number, "SIGKILL");
    const second = await until("a replacement worker", () => {
      const pids = workerPids(primary);
      return pids.length === 2 && !pids.includes(first[0] as number) ? pids : undefined;
    });
    expect(second).toContain(first[1]);
    await until("the replacement to listen", () =>
      primary.output().split("ready on").length === 4 ? true : undefined,
    );
    expect(await creates(200)).toEqual(Array(200).fill(201));

    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      const ids = await sql<{ inner_id: number }[]>`
        select inner_id from tasks where project_id = ${project} order by inner_id`;
      expect(ids.map((r) => Number(r.inner_id))).toEqual(
        Array.from({ length: 400 }, (_, i) => i + 1),
      );
    } finally {
      await sql.end();
    }

    expect(await primary.kill("SIGTERM")).toBe(0);
    for (const pid of second) expect(alive(pid), `worker ${pid}`).toBe(false);
  });
});
