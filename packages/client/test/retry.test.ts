/**
 * The client's retry policy against a real server: the API on PostgreSQL reached through a TCP
 * proxy that can cut the database off (a real outage: the server answers 503), and a TCP proxy
 * in front of the API that can drop connections (a real network error). Queries and keyed
 * mutations are retried on both; a mutation without a key never is.
 */
import { createServer as createHttpServer, type Server } from "node:http";
import { type AddressInfo, createConnection, createServer, type Socket } from "node:net";
import { createPostgresDb, type Db } from "@taskport/api/db";
import {
  type ApiServer,
  createPostgresDatabase,
  createTenant,
  startApiServer,
} from "@taskport/api/test-support";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTaskportClient, TRPCClientError } from "../src/index";

/**
 * A loopback TCP proxy to `target`. `stop()` is an outage: it stops listening (new
 * connections are refused) and cuts the open ones; `drop(n)` cuts the connection that carries
 * each of the next `n` requests as the request arrives, whether the client opened it for the
 * request or reused a kept-alive one, as a flaky network would.
 */
class TcpProxy {
  private server = createServer((socket) => this.accept(socket));
  private readonly open = new Set<Socket>();
  private port = 0;
  /** HTTP requests that arrived, dropped ones included. */
  requests = 0;
  private dropping = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(this.port, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    const closed = new Promise((resolve) => this.server.close(resolve));
    for (const socket of this.open) socket.destroy();
    await closed;
    this.server = createServer((socket) => this.accept(socket));
  }

  drop(count: number): void {
    this.dropping = count;
  }

  private accept(socket: Socket): void {
    const upstream = createConnection(this.target);
    this.open.add(socket);
    socket.on("close", () => {
      this.open.delete(socket);
      upstream.destroy();
    });
    socket.on("error", () => upstream.destroy());
    upstream.on("error", () => socket.destroy());
    upstream.on("close", () => socket.destroy());
    socket.on("data", (chunk: Buffer) => {
      // The client's bodies here are small: a request starts a chunk with its method.
      if (/^(GET|POST) /.test(chunk.toString("latin1", 0, 5))) {
        this.requests += 1;
        if (this.dropping > 0) {
          this.dropping -= 1;
          socket.destroy();
          return;
        }
      }
      upstream.write(chunk);
    });
    upstream.pipe(socket);
  }

  async close(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    if (this.server.listening) await new Promise((resolve) => this.server.close(resolve));
  }
}

const base = process.env.TEST_DATABASE_URL;
if (!base)
  throw new Error("The client's retry tests need TEST_DATABASE_URL (a PostgreSQL server).");

let database: { url: string; drop(): Promise<void> };
let databaseProxy: TcpProxy;
let db: Db;
let api: ApiServer;
let front: Server;
let apiProxy: TcpProxy;
let url: string;
let token: string;
let projectId: number;
/** Requests the API answered, by procedure, with their statuses. */
let answered: { path: string; status: number }[] = [];
/** Called when the API has answered a request. */
let onAnswer: (status: number) => void = () => {};

beforeAll(async () => {
  database = await createPostgresDatabase(base, "taskport_client");
  const target = new URL(database.url);
  databaseProxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const proxied = new URL(database.url);
  proxied.port = String(await databaseProxy.listen());
  db = createPostgresDb(proxied.toString(), { max: 2 });
  api = await startApiServer({ db, logError: () => {} });
  // The API again, behind a server that notes what it answered.
  front = createHttpServer((req, res) => {
    res.on("finish", () => {
      answered.push({ path: req.url ?? "", status: res.statusCode });
      onAnswer(res.statusCode);
    });
    api.api.handle(req, res);
  });
  await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
  apiProxy = new TcpProxy({ host: "127.0.0.1", port: (front.address() as AddressInfo).port });
  url = `http://127.0.0.1:${await apiProxy.listen()}`;
  const tenant = await createTenant(db);
  token = tenant.token;
  projectId = (await tenant.caller.project.create({ title: "Retries" })).id;
});
afterAll(async () => {
  await apiProxy?.close();
  await new Promise((resolve) => front?.close(resolve));
  await api?.close();
  await db?.$close();
  await databaseProxy?.close();
  await database?.drop();
});
afterEach(async () => {
  onAnswer = () => {};
  apiProxy.drop(0);
  if (!databaseIsUp()) await databaseProxy.listen();
  answered = [];
});

let databaseDown = false;
const databaseIsUp = () => !databaseDown;
async function databaseOutage(): Promise<void> {
  databaseDown = true;
  await databaseProxy.stop();
}
async function databaseBack(): Promise<void> {
  databaseDown = false;
  await databaseProxy.listen();
}

const client = () => createTaskportClient({ url, token, maxAttempts: 4 });
const calls = (procedure: string) => answered.filter((a) => a.path.includes(procedure));

async function taskCount(): Promise<number> {
  return (await client().task.list.query({ project: projectId })).total;
}

describe("on 5xx (the database is down, the server answers 503)", () => {
  /** The database comes back once the server has answered one 503. */
  async function outageOfOneAnswer() {
    await databaseOutage();
    onAnswer = (status) => {
      if (status === 503) void databaseBack();
    };
  }

  it("retries a query", async () => {
    await outageOfOneAnswer();
    const page = await client().project.list.query();
    expect(page.results.map((p) => p.id)).toEqual([projectId]);
    expect(calls("project.list").map((a) => a.status)).toEqual([503, 200]);
  });

  it("retries a mutation that carries an idempotency key, which creates once", async () => {
    const before = await taskCount();
    answered = [];
    await outageOfOneAnswer();
    const task = await client().task.create.mutate({
      project: projectId,
      data: { text: "keyed" },
      idempotencyKey: "retry-503",
    });
    expect(task.data).toEqual({ text: "keyed" });
    expect(calls("task.create").map((a) => a.status)).toEqual([503, 200]);
    expect(await taskCount()).toBe(before + 1);
  });

  it("never retries a mutation without a key", async () => {
    const before = await taskCount();
    answered = [];
    await databaseOutage();
    const error = await client()
      .task.create.mutate({ project: projectId, data: { text: "unkeyed" } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as { data?: { httpStatus?: number } }).data?.httpStatus).toBe(503);
    // Longer than the client's first retry delay: no second attempt came.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(calls("task.create").map((a) => a.status)).toEqual([503]);
    await databaseBack();
    expect(await taskCount()).toBe(before);
  });
});

describe("on network errors (the connection is dropped)", () => {
  it("retries a query", async () => {
    const trpc = client();
    apiProxy.drop(1);
    const requests = apiProxy.requests;
    const page = await trpc.project.list.query();
    expect(page.count).toBe(1);
    // The first request was cut: the answer came to a second one.
    expect(apiProxy.requests - requests).toBe(2);
    expect(calls("project.list")).toHaveLength(1);
  });

  it("retries a keyed mutation, which creates once", async () => {
    const before = await taskCount();
    answered = [];
    const trpc = client();
    apiProxy.drop(1);
    const requests = apiProxy.requests;
    await trpc.task.create.mutate({
      project: projectId,
      data: { text: "dropped once" },
      idempotencyKey: "retry-network",
    });
    expect(apiProxy.requests - requests).toBe(2);
    expect(calls("task.create")).toHaveLength(1);
    expect(await taskCount()).toBe(before + 1);
  });

  it("never retries a mutation without a key", async () => {
    const before = await taskCount();
    answered = [];
    const trpc = client();
    apiProxy.drop(1);
    const requests = apiProxy.requests;
    const error = await trpc.task.create
      .mutate({ project: projectId, data: { text: "dropped" } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(apiProxy.requests - requests).toBe(1);
    expect(calls("task.create")).toHaveLength(0);
    expect(await taskCount()).toBe(before);
  });
});
