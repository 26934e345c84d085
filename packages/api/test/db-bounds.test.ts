/**
 * The bounds on waiting for PostgreSQL, one by one, on a real server: the statement and lock
 * timeouts it enforces, the pool's wait for a connection, and the client's own deadline on a
 * server gone silent (a TCP proxy that stops passing the server's answers: a network black
 * hole). Each ends in the 503 its kind calls for, and the pool serves again afterwards.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { TRPCError } from "@trpc/server";
import { eq, sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresDb, type Db, PoolTimeoutError } from "../src/db";
import { tasks } from "../src/db/schema";
import { DATABASE_BUSY, DATABASE_LOST, toClientError } from "../src/errors";
import { createTask } from "../src/services/task";
import { createTestDatabase, type TestDatabase, testDriver } from "./support/db";
import { createTenant } from "./support/fixtures";

/** What a client is told about `error`: the 503's message, or the error itself. */
function told(error: unknown): unknown {
  const mapped = toClientError(error);
  return mapped instanceof TRPCError ? { code: mapped.code, message: mapped.message } : mapped;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the query to fail");
}

/** A TCP proxy to PostgreSQL that can stop passing the server's answers on. */
async function blackHoleProxy(
  target: URL,
): Promise<{ url: string; dark: boolean; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const proxy = {
    url: "",
    dark: false,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    client.on("data", (chunk) => upstream.write(chunk));
    upstream.on("data", (chunk) => {
      if (!proxy.dark) client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const url = new URL(target);
  url.port = String(typeof address === "object" && address ? address.port : 0);
  proxy.url = url.toString();
  return proxy;
}

describe.runIf(testDriver() === "postgres")("bounded waits on PostgreSQL", () => {
  let tdb: TestDatabase;
  const opened: Db[] = [];
  const open = (url: string, options: Parameters<typeof createPostgresDb>[1]) => {
    const db = createPostgresDb(url, options);
    opened.push(db);
    return db;
  };

  beforeAll(async () => {
    tdb = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(opened.map((db) => db.$close()));
    await tdb?.close();
  });

  it("a statement past the statement timeout is cancelled by the server: 503, nothing written", async () => {
    const db = open(tdb.url as string, { statementTimeoutMs: 200 });
    const error = await failure(db.execute(sql`select pg_sleep(5)`));
    expect(told(error)).toEqual({ code: "SERVICE_UNAVAILABLE", message: DATABASE_BUSY });
    expect(await db.execute(sql`select 1 as one`)).toEqual([{ one: 1 }]);
  });

  it("a lock wait past the lock timeout: 503, nothing written", async () => {
    const db = open(tdb.url as string, { lockTimeoutMs: 200 });
    const holder = postgres(tdb.url as string, { max: 1, onnotice: () => {} });
    let release: () => void = () => {};
    let locked: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holding = holder.begin(async (tx) => {
      await tx`lock table organizations in access exclusive mode`;
      locked();
      await released;
    });
    try {
      await isLocked;
      const error = await failure(db.execute(sql`select count(*) from organizations`));
      expect(told(error)).toEqual({ code: "SERVICE_UNAVAILABLE", message: DATABASE_BUSY });
    } finally {
      release();
      await holding;
      await holder.end();
    }
  });

  it("a transaction PostgreSQL aborts to break a deadlock: 503, nothing written", async () => {
    const db = open(tdb.url as string, {});
    const other = postgres(tdb.url as string, { max: 1, onnotice: () => {} });
    await db.execute(sql`create table deadlock_probe (id int primary key, n int not null)`);
    await db.execute(sql`insert into deadlock_probe values (1, 0), (2, 0)`);
    let otherHolds: () => void = () => {};
    const holding = new Promise<void>((resolve) => {
      otherHolds = resolve;
    });
    let goOn: () => void = () => {};
    const proceed = new Promise<void>((resolve) => {
      goOn = resolve;
    });
    // The other transaction takes row 2 then row 1; this one row 1 then row 2. PostgreSQL
    // aborts whichever waited first (this one, which starts waiting first).
    const otherTx = other.begin(async (tx) => {
      await tx`update deadlock_probe set n = n + 1 where id = 2`;
      otherHolds();
      await proceed;
      await tx`update deadlock_probe set n = n + 1 where id = 1`;
    });
    try {
      await holding;
      const error = await failure(
        db.transaction(async (tx) => {
          await tx.execute(sql`update deadlock_probe set n = n + 1 where id = 1`);
          setTimeout(goOn, 200);
          await tx.execute(sql`update deadlock_probe set n = n + 1 where id = 2`);
        }),
      );
      expect(told(error)).toEqual({ code: "SERVICE_UNAVAILABLE", message: DATABASE_BUSY });
      await otherTx;
      // This transaction wrote nothing; the other one both rows.
      expect(await db.execute(sql`select id, n from deadlock_probe order by id`)).toEqual([
        { id: 1, n: 1 },
        { id: 2, n: 1 },
      ]);
    } finally {
      goOn();
      await otherTx.catch(() => {});
      await other.end();
      await db.execute(sql`drop table deadlock_probe`);
    }
  });

  it("creates batched behind a lock past its timeout all fail at once (503), none written again one by one", async () => {
    const db = open(tdb.url as string, { lockTimeoutMs: 500 });
    const tenant = await createTenant(db);
    const project = await tenant.caller.project.create({
      title: "Locked",
      label_config: '<View><Text name="t" value="$text"/></View>',
    });
    const holder = postgres(tdb.url as string, { max: 1, onnotice: () => {} });
    let locked: () => void = () => {};
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    // The project's row lock, held for five lock timeouts: the first creates go out one per
    // batch (three in flight) and time out; the five that waited meanwhile go as one batch,
    // which times out too, long before the lock is let go.
    const holding = holder.begin(async (tx) => {
      await tx`select id from projects where id = ${project.id} for update`;
      locked();
      await new Promise((resolve) => setTimeout(resolve, 2_500));
    });
    try {
      await isLocked;
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          createTask(db, tenant.actor, { project: project.id, data: { text: `t${i}` } }),
        ),
      );
      const busy = { code: "SERVICE_UNAVAILABLE", message: DATABASE_BUSY };
      expect(results.map((r) => (r.status === "rejected" ? told(r.reason) : r.value))).toEqual(
        Array.from({ length: 8 }, () => busy),
      );
    } finally {
      await holding;
      await holder.end();
    }
    expect(await db.select().from(tasks).where(eq(tasks.projectId, project.id))).toEqual([]);
  });

  it("a request that gets no connection in time fails while the connection is still busy", async () => {
    const db = open(tdb.url as string, { max: 1, poolTimeoutMs: 200 });
    let firstDone = false;
    const first = db.execute(sql`select pg_sleep(1.5)`).then(() => {
      firstDone = true;
    });
    const error = await failure(db.execute(sql`select 1`));
    expect((error as { cause?: unknown }).cause).toBeInstanceOf(PoolTimeoutError);
    expect(firstDone).toBe(false);
    expect(told(error)).toEqual({ code: "SERVICE_UNAVAILABLE", message: DATABASE_BUSY });
    await first;
    expect(await db.execute(sql`select 1 as one`)).toEqual([{ one: 1 }]);
  });

  it("a server gone silent loses its connection at the answer deadline; the next query gets a new one", async () => {
    const proxy = await blackHoleProxy(new URL(tdb.url as string));
    try {
      const db = open(proxy.url, { max: 1, answerTimeoutMs: 300 });
      const [before] = (await db.execute(sql`select pg_backend_pid() as pid`)) as unknown as {
        pid: number;
      }[];
      proxy.dark = true;
      const error = await failure(db.execute(sql`select 1`));
      expect(told(error)).toEqual({ code: "SERVICE_UNAVAILABLE", message: DATABASE_LOST });
      proxy.dark = false;
      const [after] = (await db.execute(sql`select pg_backend_pid() as pid`)) as unknown as {
        pid: number;
      }[];
      expect(after?.pid).toBeGreaterThan(0);
      expect(after?.pid).not.toBe(before?.pid);
    } finally {
      await proxy.close();
    }
  });

  it("a connection lost inside a transaction fails that transaction only, and the pool goes on", async () => {
    const proxy = await blackHoleProxy(new URL(tdb.url as string));
    try {
      const db = open(proxy.url, { max: 1, answerTimeoutMs: 300 });
      const error = await failure(
        db.transaction(async (tx) => {
          await tx.execute(sql`select 1`);
          proxy.dark = true;
          await tx.execute(sql`select 2`);
        }),
      );
      expect(told(error)).toEqual({ code: "SERVICE_UNAVAILABLE", message: DATABASE_LOST });
      proxy.dark = false;
      // Its rollback, and anything after it, never ran on the connection that replaced it.
      const rows = await db.transaction(async (tx) => tx.execute(sql`select 3 as three`));
      expect(rows).toEqual([{ three: 3 }]);
    } finally {
      await proxy.close();
    }
  });
});
