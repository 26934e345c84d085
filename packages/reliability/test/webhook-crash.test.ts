/**
 * Webhooks through a receiver that is down for a while and a `kill -9` of Taskport in between,
 * on real processes: every committed create is reported by exactly one outbox event, every
 * event reaches the receiver at least once (the same `webhook-id` on every attempt), and every
 * delivery's signature verifies with the `standardwebhooks` library.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import postgres from "postgres";
import { Webhook as Verifier } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "./support/database";
import { seedTenant } from "./support/seed";
import { startTaskport, type TaskportProcess } from "./support/server";

let database: Awaited<ReturnType<typeof createDatabase>>;
const started: TaskportProcess[] = [];
let receiver: Server;
let receiverUrl = "";
let up = false;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  database = await createDatabase();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (!up) {
        res.writeHead(503).end();
        return;
      }
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.kill("SIGKILL")));
  receiver?.closeAllConnections();
  await new Promise((resolve) => receiver?.close(resolve));
  await database?.drop();
});

async function api(base: string, token: string, method: string, path: string, json?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Token ${token}`,
      ...(json === undefined ? {} : { "content-type": "application/json" }),
    },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function until<T>(seconds: number, what: string, poll: () => Promise<T | undefined>) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await poll();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `clients` loops of creates until `stop()`; answers the ids of acknowledged tasks. */
function createLoad(base: () => string, token: string, project: number, clients: number) {
  const acknowledged: number[] = [];
  let running = true;
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; running; i++) {
      try {
        const answer = await api(base(), token, "POST", "/api/tasks/", {
          project,
          data: { text: `client ${c} task ${i}` },
        });
        if (answer.status === 201) acknowledged.push(answer.body.id);
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  return {
    acknowledged,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe("webhooks through a receiver outage and kill -9", () => {
  it("reports every committed create once and delivers every event at least once", async () => {
    const { token, projectIds } = await seedTenant(database.url);
    const project = projectIds[0] as number;
    const env = {
      DATABASE_URL: database.url,
      TASKPORT_JOB_STALE_SECONDS: "2",
      TASKPORT_OUTBOUND_ALLOW_NETWORKS: "127.0.0.0/8",
      TASKPORT_WEBHOOK_RETRY_SECONDS: Array.from({ length: 60 }, () => "0.5").join(","),
      TASKPORT_WEBHOOK_DISABLE_AFTER: "10000",
    };
    let server = await startTaskport(env);
    started.push(server);
    const hook = await api(server.url, token, "POST", "/api/webhooks/", {
      project,
      url: receiverUrl,
      send_for_all_actions: false,
      actions: ["TASKS_CREATED"],
    });
    expect(hook.status).toBe(201);

    const load = createLoad(() => server.url, token, project, 4);
    await until(30, "some acknowledged creates", async () =>
      load.acknowledged.length >= 100 ? true : undefined,
    );
    // The receiver is down (503): events pile up in the outbox, and the process dies.
    server.child.kill("SIGKILL");
    await server.exited;
    server = await startTaskport(env);
    started.push(server);
    await until(30, "more acknowledged creates", async () =>
      load.acknowledged.length >= 200 ? true : undefined,
    );
    await load.stop();
    up = true;

    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      const committed = (
        await sql<{ id: string }[]>`select id from tasks where project_id = ${project} order by id`
      ).map((r) => Number(r.id));
      for (const id of load.acknowledged) expect(committed).toContain(id);

      // Exactly one event per committed task, in the outbox.
      // An event keeps its tasks as rows: value arrays named by `task_columns`.
      const events = await sql<
        { message_id: string; payload: { tasks: unknown[][]; task_columns: string[] } }[]
      >`select message_id, payload from webhook_events where webhook_id = ${hook.body.id} order by id`;
      const reported = events.flatMap((e) => {
        const id = e.payload.task_columns.indexOf("id");
        return e.payload.tasks.map((t) => Number(t[id]));
      });
      expect(reported.sort((a, b) => a - b)).toEqual(committed);

      // Every event delivered, at least once, each delivery signed.
      await until(120, "every event delivered", async () => {
        const [left] = await sql<{ n: number }[]>`
          select count(*)::int as n from webhook_events
          where webhook_id = ${hook.body.id} and status <> 'delivered'`;
        return left?.n === 0 ? true : undefined;
      });
      const verifier = new Verifier(hook.body.secret);
      const deliveredIds = new Set<string>();
      const deliveredTasks = new Set<number>();
      for (const r of received) {
        const payload = verifier.verify(r.body, {
          "webhook-id": String(r.headers["webhook-id"]),
          "webhook-timestamp": String(r.headers["webhook-timestamp"]),
          "webhook-signature": String(r.headers["webhook-signature"]),
        }) as { tasks: { id: number }[] };
        deliveredIds.add(String(r.headers["webhook-id"]));
        for (const t of payload.tasks) deliveredTasks.add(t.id);
      }
      expect(deliveredIds).toEqual(new Set(events.map((e) => `msg_${e.message_id}`)));
      expect([...deliveredTasks].sort((a, b) => a - b)).toEqual(committed);
    } finally {
      await sql.end();
    }
  }, 300_000);
});
