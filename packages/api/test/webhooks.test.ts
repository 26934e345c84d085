/**
 * Webhooks end to end: Label Studio's webhook API over HTTP, and deliveries to a real HTTP
 * receiver on loopback that checks every signature with the `standardwebhooks` library. Every
 * committed change is one event, delivered in order at least once (also through a receiver
 * that fails for a while); a rolled-back change is none; targets outside the allowed networks
 * are refused.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import { Webhook as Verifier } from "standardwebhooks";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { webhookEvents } from "../src/db/schema";
import { type ApiHandler, createApiHandler } from "../src/http";
import type { JobSystem } from "../src/jobs";
import { createJobSystem } from "../src/jobs/queues";
import { sendWebhook, signMessage } from "../src/services/webhook-delivery";
import { createTestDatabase, type TestDatabase } from "./support/db";
import { createTenant } from "./support/fixtures";

const LOOPBACK = { allowNetworks: ["127.0.0.0/8"] };

interface Received {
  headers: IncomingHttpHeaders;
  /** The sender's end of the connection the request came on. */
  port: number | undefined;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: payloads are arbitrary JSON
  json: any;
}

/** A webhook receiver: records every request, answers what `answer` says. */
class Receiver {
  received: Received[] = [];
  answer: (n: number) => { status: number; headers?: Record<string, string> } = () => ({
    status: 200,
  });
  private server!: Server;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        this.received.push({
          headers: req.headers,
          port: req.socket.remotePort,
          body,
          json: JSON.parse(body),
        });
        const { status, headers } = this.answer(this.received.length);
        res.writeHead(status, headers).end("ok");
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let database: TestDatabase;
let jobs: JobSystem;
let api: ApiHandler;
let server: Server;
let base: string;
let receiver: Receiver;
let localRoot: string;

beforeAll(async () => {
  database = await createTestDatabase();
  localRoot = mkdtempSync(join(tmpdir(), "taskport-hooks-"));
  jobs = createJobSystem({
    // A failed sync is retried after a second, three attempts in all.
    storage: { localFilesRoot: localRoot, retry: { attempts: 3, delaySeconds: () => 1 } },
    db: database.db,
    pollingIntervalSeconds: 0.5,
    logError: () => {},
    network: LOOPBACK,
    webhooks: {
      retrySeconds: [0.2, 0.2, 0.2, 0.2],
      disableAfterFailures: 3,
      dispatchIntervalMs: 100,
      timeoutMs: 2000,
    },
  });
  await jobs.start();
  api = await createApiHandler({
    db: database.db,
    jobs,
    network: LOOPBACK,
    localFilesRoot: localRoot,
    uploads: { mediaDir: join(localRoot, "media") },
  });
  server = createServer(api.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver = new Receiver();
  await receiver.start();
});
afterAll(async () => {
  await receiver.close();
  await new Promise((resolve) => server.close(resolve));
  await api.close();
  await jobs.stop(2000);
  await database.close();
  rmSync(localRoot, { recursive: true, force: true });
});
beforeEach(() => {
  receiver.received = [];
  receiver.answer = () => ({ status: 200 });
});

async function call(
  token: string,
  method: string,
  path: string,
  json?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
): Promise<{ status: number; body: any }> {
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

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A tenant with a project and a project webhook pointing at the receiver. */
async function setup(extra: Record<string, unknown> = {}) {
  const tenant = await createTenant(database.db);
  const project = await call(tenant.token, "POST", "/api/projects/", {
    title: "Hooks",
    label_config: '<View><Text name="text" value="$text"/></View>',
  });
  const hook = await call(tenant.token, "POST", "/api/webhooks/", {
    project: project.body.id,
    url: receiver.url,
    ...extra,
  });
  expect(hook.status).toBe(201);
  return { token: tenant.token, projectId: project.body.id as number, hook: hook.body };
}

function verified(secret: string, r: Received) {
  return new Verifier(secret).verify(r.body, {
    "webhook-id": String(r.headers["webhook-id"]),
    "webhook-timestamp": String(r.headers["webhook-timestamp"]),
    "webhook-signature": String(r.headers["webhook-signature"]),
  });
}

describe("the webhook API", () => {
  it("creates, lists, reads, updates, replaces and deletes webhooks with Label Studio's fields", async () => {
    const { token, projectId, hook } = await setup({
      send_for_all_actions: false,
      actions: ["TASKS_CREATED"],
      headers: { "X-Team": "labeling" },
    });
    expect(Object.keys(hook)).toEqual(
      expect.arrayContaining([
        "id",
        "organization",
        "project",
        "url",
        "send_payload",
        "send_for_all_actions",
        "headers",
        "is_active",
        "actions",
        "created_at",
        "updated_at",
        "secret",
      ]),
    );
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(hook).toMatchObject({ project: projectId, actions: ["TASKS_CREATED"], is_active: true });

    const read = await call(token, "GET", `/api/webhooks/${hook.id}/`);
    expect(read.status).toBe(200);
    expect(read.body.secret).toBeUndefined();
    const listed = await call(token, "GET", `/api/webhooks/?project=${projectId}`);
    expect(listed.body.map((w: { id: number }) => w.id)).toEqual([hook.id]);
    const other = await call(token, "GET", `/api/webhooks/?project=${projectId + 1000}`);
    expect(other.body).toEqual([]);

    const patched = await call(token, "PATCH", `/api/webhooks/${hook.id}/`, {
      send_payload: false,
      project: 12345,
    });
    expect(patched.body).toMatchObject({ send_payload: false, project: projectId });
    const put = await call(token, "PUT", `/api/webhooks/${hook.id}/`, {
      url: `${receiver.url}?v=2`,
      actions: ["TASKS_DELETED"],
    });
    expect(put.body).toMatchObject({ url: `${receiver.url}?v=2`, actions: ["TASKS_DELETED"] });
    const putWithoutUrl = await call(token, "PUT", `/api/webhooks/${hook.id}/`, {});
    expect(putWithoutUrl.status).toBe(400);
    expect(putWithoutUrl.body.validation_errors.url).toBeDefined();

    const rotated = await call(token, "POST", `/api/webhooks/${hook.id}/rotate-secret/`);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(hook.secret);

    const stranger = await createTenant(database.db);
    expect((await call(stranger.token, "GET", `/api/webhooks/${hook.id}/`)).status).toBe(404);
    expect((await call(stranger.token, "DELETE", `/api/webhooks/${hook.id}/`)).status).toBe(404);

    expect((await call(token, "DELETE", `/api/webhooks/${hook.id}/`)).status).toBe(204);
    expect((await call(token, "GET", `/api/webhooks/${hook.id}/`)).status).toBe(404);
  });

  it("answers the action list and refuses organization-only actions on a project webhook", async () => {
    const { token, projectId } = await setup();
    const info = await call(token, "GET", "/api/webhooks/info/");
    expect(info.body.TASKS_CREATED).toEqual({
      name: "Task created",
      description: "",
      key: "tasks",
      "organization-only": false,
    });
    const orgOnly = await call(token, "GET", "/api/webhooks/info/?organization-only=true");
    expect(Object.keys(orgOnly.body).sort()).toEqual(["PROJECT_CREATED", "PROJECT_DELETED"]);
    const refused = await call(token, "POST", "/api/webhooks/", {
      project: projectId,
      url: receiver.url,
      send_for_all_actions: false,
      actions: ["PROJECT_CREATED"],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.validation_errors.non_field_errors).toEqual([
      "Project webhook can't contain organization-only action.",
    ]);
    const badAction = await call(token, "POST", "/api/webhooks/", {
      url: receiver.url,
      actions: ["NOPE"],
    });
    expect(badAction.status).toBe(400);
    expect(badAction.body.validation_errors.actions).toBeDefined();
    const missingProject = await call(token, "POST", "/api/webhooks/", {
      project: projectId + 1000,
      url: receiver.url,
    });
    expect(missingProject.status).toBe(404);
  });

  it("refuses targets in private, link-local, loopback and unspecified ranges", async () => {
    const { token } = await setup();
    for (const url of [
      "http://10.1.2.3/hook",
      "http://169.254.169.254/latest/meta-data",
      "http://192.168.0.1/",
      "http://[::1]/",
      "http://[::ffff:10.0.0.1]/",
      "http://0.0.0.0/",
      "ftp://example.com/",
    ]) {
      const answer = await call(token, "POST", "/api/webhooks/", { url });
      expect(answer.status, url).toBe(400);
      expect(answer.body.validation_errors.url, url).toBeDefined();
    }
    // Loopback is allowed here only because this server's settings allow 127.0.0.0/8; without
    // them, the delivery itself refuses it, before connecting.
    const refused = await sendWebhook(
      { url: receiver.url, headers: {}, secret: "whsec_dGVzdHRlc3R0ZXN0dGVzdA==" },
      { id: "msg_1", body: "{}" },
      {},
    );
    expect(refused).toMatchObject({ ok: false, retry: false });
    expect(refused.ok ? "" : refused.error).toContain("loopback");
    expect(receiver.received).toHaveLength(0);
  });
});

describe("deliveries", () => {
  it("signs exactly as the standardwebhooks library does", () => {
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const bodies = ["{}", '{"text":"é ✓ 𝄞"}', JSON.stringify({ tasks: "x".repeat(100_000) })];
    for (const body of bodies) {
      const timestamp = 1_700_000_000 + body.length;
      const ours = signMessage(secret, "msg_abc", timestamp, body);
      expect(ours).toBe(new Verifier(secret).sign("msg_abc", new Date(timestamp * 1000), body));
      expect(ours).not.toBe(signMessage(secret, "msg_abd", timestamp, body));
    }
  });

  it("sends every committed change once, in order, signed", async () => {
    const { token, projectId, hook } = await setup();
    const task = await call(token, "POST", "/api/tasks/", {
      project: projectId,
      data: { text: "one" },
    });
    expect(task.status).toBe(201);
    await call(token, "PATCH", `/api/projects/${projectId}/`, { title: "Renamed" });
    await call(token, "DELETE", `/api/tasks/${task.body.id}/`);
    await call(token, "POST", `/api/projects/${projectId}/import`, [
      { text: "a" },
      { text: "b" },
      { text: "c" },
    ]);
    await until("four deliveries", () => receiver.received.length >= 4);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received.map((r) => r.json.action)).toEqual([
      "TASKS_CREATED",
      "PROJECT_UPDATED",
      "TASKS_DELETED",
      "TASKS_CREATED",
    ]);
    const [created, updated, deleted, imported] = receiver.received as Received[];
    expect(created?.json.tasks.map((t: { id: number }) => t.id)).toEqual([task.body.id]);
    // One kept-alive connection for the webhook's deliveries.
    expect(new Set(receiver.received.map((r) => r.port)).size).toBe(1);
    // The task as the API answered its create: one serializer for both, dates included.
    expect(created?.json.tasks).toEqual([task.body]);
    expect(created?.json.project).toMatchObject({ id: projectId });
    expect(updated?.json.project).toMatchObject({ id: projectId, title: "Renamed" });
    expect(deleted?.json.tasks).toEqual([{ id: task.body.id }]);
    expect(imported?.json.tasks.map((t: { data: unknown }) => t.data)).toEqual([
      { text: "a" },
      { text: "b" },
      { text: "c" },
    ]);
    for (const r of receiver.received) {
      expect(() => verified(hook.secret, r)).not.toThrow();
      expect(r.headers["content-type"]).toBe("application/json");
    }
    expect(new Set(receiver.received.map((r) => r.headers["webhook-id"])).size).toBe(4);
    // A tampered body fails verification: the check above can fail.
    const tampered = {
      ...(created as Received),
      body: (created as Received).body.replace("one", "0ne"),
    };
    expect(() => verified(hook.secret, tampered)).toThrow(/signature/i);

    const log = await call(token, "GET", `/api/webhooks/${hook.id}/deliveries/`);
    expect(log.body).toHaveLength(4);
    expect(log.body[0]).toMatchObject({ status: "delivered", attempts: 1, response_status: 200 });
  });

  it("writes no event for a rolled-back import", async () => {
    const { token, projectId, hook } = await setup();
    const items = Array.from({ length: 5001 }, (_, i) => ({ text: `t${i}` }));
    items.push({ nope: "no text" } as never);
    const answer = await call(token, "POST", `/api/projects/${projectId}/import`, items);
    expect(answer.status).toBe(400);
    await call(token, "POST", "/api/tasks/", { project: projectId, data: { text: "after" } });
    await until("the later create's delivery", () => receiver.received.length >= 1);
    const rows = await database.db
      .select()
      .from(webhookEvents)
      .where(eq(webhookEvents.webhookId, hook.id));
    expect(rows).toHaveLength(1);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.json.tasks[0].data).toEqual({ text: "after" });
  });

  it("sends nothing for changes when no webhook listens, and only the actions asked for", async () => {
    const { token, projectId, hook } = await setup({
      send_for_all_actions: false,
      actions: ["TASKS_DELETED"],
    });
    const task = await call(token, "POST", "/api/tasks/", {
      project: projectId,
      data: { text: "x" },
    });
    await call(token, "DELETE", `/api/tasks/${task.body.id}/`);
    await until("the delete's delivery", () => receiver.received.length >= 1);
    expect(receiver.received.map((r) => r.json.action)).toEqual(["TASKS_DELETED"]);
    // Deleting all of the project's tasks reports them in one event.
    const more = await call(
      token,
      "POST",
      `/api/projects/${projectId}/import?return_task_ids=true`,
      [{ text: "y" }, { text: "z" }],
    );
    expect((await call(token, "DELETE", `/api/projects/${projectId}/tasks/`)).status).toBe(204);
    await until("the second delete's delivery", () => receiver.received.length >= 2);
    expect(receiver.received[1]?.json).toMatchObject({
      action: "TASKS_DELETED",
      tasks: more.body.task_ids.map((id: number) => ({ id })),
    });
    const rows = await database.db
      .select()
      .from(webhookEvents)
      .where(eq(webhookEvents.webhookId, hook.id));
    expect(rows.map((r) => r.action)).toEqual(["TASKS_DELETED", "TASKS_DELETED"]);
  });

  it("retries a receiver that fails for a while, keeps the order, honours Retry-After", async () => {
    const { token, projectId, hook } = await setup();
    receiver.answer = (n) =>
      n === 1
        ? { status: 503 }
        : n === 2
          ? { status: 429, headers: { "retry-after": "1" } }
          : { status: 200 };
    await call(token, "POST", "/api/tasks/", { project: projectId, data: { text: "first" } });
    await call(token, "POST", "/api/tasks/", { project: projectId, data: { text: "second" } });
    await until("both delivered", () => receiver.received.length >= 4);
    const texts = receiver.received.map((r) => r.json.tasks[0].data.text);
    expect(texts).toEqual(["first", "first", "first", "second"]);
    const ids = receiver.received.map((r) => r.headers["webhook-id"]);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[1]).toBe(ids[2]);
    const stamps = receiver.received.map((r) => Number(r.headers["webhook-timestamp"]));
    // The third attempt waited for Retry-After (1 s), not the 0.2 s of the schedule.
    expect((stamps[2] as number) - (stamps[1] as number)).toBeGreaterThanOrEqual(1);
    // The log is written after each answer arrives: read it once both show as delivered.
    const log = await until("both deliveries recorded", async () => {
      const read = await call(token, "GET", `/api/webhooks/${hook.id}/deliveries/`);
      return read.body.length === 2 &&
        read.body.every((d: { status: string }) => d.status === "delivered")
        ? read.body
        : undefined;
    });
    expect(log.map((d: { attempts: number }) => d.attempts)).toEqual([1, 3]);
    expect((await call(token, "GET", `/api/webhooks/${hook.id}/`)).body.consecutive_failures).toBe(
      0,
    );
  });

  it("stops retrying on a 4xx, and turns the webhook off after a run of failures", async () => {
    const { token, projectId, hook } = await setup();
    receiver.answer = () => ({ status: 410 });
    for (const text of ["a", "b", "c", "d"])
      await call(token, "POST", "/api/tasks/", { project: projectId, data: { text } });
    await until("three failures", () => receiver.received.length >= 3);
    const webhook = await until("the webhook turned off", async () => {
      const read = await call(token, "GET", `/api/webhooks/${hook.id}/`);
      return read.body.is_active === false ? read.body : undefined;
    });
    expect(webhook.disabled_reason).toContain("3 failed deliveries in a row");
    expect(webhook.disabled_reason).toContain("410");
    await new Promise((resolve) => setTimeout(resolve, 500));
    // One attempt each (410 is final), three events, then nothing while off.
    expect(receiver.received.map((r) => r.json.tasks[0].data.text)).toEqual(["a", "b", "c"]);
    const log = await call(token, "GET", `/api/webhooks/${hook.id}/deliveries/`);
    expect(log.body.map((d: { status: string }) => d.status)).toEqual([
      "pending",
      "failed",
      "failed",
      "failed",
    ]);

    // Turned back on, it goes on with the pending event; redeliver sends a failed one again.
    receiver.answer = () => ({ status: 200 });
    const on = await call(token, "PATCH", `/api/webhooks/${hook.id}/`, { is_active: true });
    expect(on.body).toMatchObject({ is_active: true, disabled_reason: null });
    await until("d delivered", () => receiver.received.length >= 4);
    const failedA = log.body[3];
    const again = await call(
      token,
      "POST",
      `/api/webhooks/${hook.id}/deliveries/${failedA.id}/redeliver/`,
    );
    expect(again.body.status).toBe("pending");
    await until("a redelivered", () => receiver.received.length >= 5);
    expect(receiver.received[4]?.headers["webhook-id"]).toBe(failedA.message_id);
    expect(receiver.received[4]?.json.tasks[0].data.text).toBe("a");
  });

  it("reports concurrent creates, batched over projects, once each and only where a webhook listens", async () => {
    const { token, projectId } = await setup({
      send_for_all_actions: false,
      actions: ["TASKS_CREATED"],
    });
    const quiet = await call(token, "POST", "/api/projects/", {
      title: "No hooks",
      label_config: '<View><Text name="text" value="$text"/></View>',
    });
    // Concurrent creates are group-committed: batches hold both projects' rows, and more than
    // WEBHOOK_BATCH_SIZE of them at once.
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        call(token, "POST", "/api/tasks/", {
          project: i % 3 === 0 ? quiet.body.id : projectId,
          data: { text: `t${i}` },
        }),
      ),
    );
    for (const answer of answers) expect(answer.status).toBe(201);
    const hooked = answers.filter((a) => a.body.project === projectId).map((a) => a.body);
    await until("every hooked task", () =>
      receiver.received.flatMap((r) => r.json.tasks).length >= hooked.length ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sent = receiver.received.flatMap((r) => {
      expect(r.json.action).toBe("TASKS_CREATED");
      expect(r.json.project.id).toBe(projectId);
      expect(r.json.tasks.length).toBeLessThanOrEqual(100);
      return r.json.tasks;
    });
    const byId = (a: { id: number }, b: { id: number }) => a.id - b.id;
    expect(sent.sort(byId)).toEqual(hooked.sort(byId));
  });

  it("reports the tasks a reimport replaces as deleted, and the tasks it makes as created", async () => {
    const { token, projectId } = await setup({
      send_for_all_actions: false,
      actions: ["TASKS_CREATED", "TASKS_DELETED"],
    });
    const form = new FormData();
    form.append("rows.csv", new Blob(["text\na\nb\n"]), "rows.csv");
    const uploaded = await fetch(`${base}/api/projects/${projectId}/import`, {
      method: "POST",
      headers: { authorization: `Token ${token}` },
      body: form,
    });
    expect(uploaded.status).toBe(201);
    const {
      file_upload_ids: [uploadId],
    } = (await uploaded.json()) as { file_upload_ids: number[] };
    await until("the import's event", () => receiver.received.length >= 1);
    const imported = receiver.received[0]?.json.tasks.map((t: { id: number }) => t.id);
    expect(imported).toHaveLength(2);

    const again = await call(token, "POST", `/api/projects/${projectId}/reimport`, {
      file_upload_ids: [uploadId],
    });
    expect(again.status).toBe(201);
    await until("the reimport's events", () => receiver.received.length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [, deleted, created] = receiver.received;
    expect(receiver.received.map((r) => r.json.action)).toEqual([
      "TASKS_CREATED",
      "TASKS_DELETED",
      "TASKS_CREATED",
    ]);
    expect(deleted?.json.tasks).toEqual(imported.map((id: number) => ({ id })));
    expect(created?.json.tasks.map((t: { data: unknown }) => t.data)).toEqual([
      { text: "a" },
      { text: "b" },
    ]);
    for (const task of created?.json.tasks ?? []) expect(imported).not.toContain(task.id);
  });

  it("batches the TASKS_CREATED of a 10,000-task import, every task exactly once", async () => {
    const { token, projectId } = await setup();
    const items = Array.from({ length: 10_000 }, (_, i) => ({ text: `t${i}` }));
    const answer = await call(
      token,
      "POST",
      `/api/projects/${projectId}/import?return_task_ids=true`,
      items,
    );
    expect(answer.status).toBe(201);
    await until("every batch", () => receiver.received.length >= 100);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received).toHaveLength(100);
    const seen = receiver.received.flatMap((r) => {
      expect(r.json.action).toBe("TASKS_CREATED");
      expect(r.json.tasks.length).toBeLessThanOrEqual(100);
      return r.json.tasks.map((t: { id: number }) => t.id);
    });
    expect(seen).toEqual(answer.body.task_ids);
  }, 120_000);

  it("sends organization events to organization webhooks", async () => {
    const tenant = await createTenant(database.db);
    const hook = await call(tenant.token, "POST", "/api/webhooks/", { url: receiver.url });
    expect(hook.body.project).toBeNull();
    const project = await call(tenant.token, "POST", "/api/projects/", { title: "Org" });
    await call(tenant.token, "DELETE", `/api/projects/${project.body.id}/`);
    await until("two deliveries", () => receiver.received.length >= 2);
    expect(receiver.received.map((r) => r.json)).toEqual([
      expect.objectContaining({
        action: "PROJECT_CREATED",
        project: expect.objectContaining({ id: project.body.id, title: "Org" }),
      }),
      { action: "PROJECT_DELETED", project: { id: project.body.id } },
    ]);
  });

  it("announces a storage sync's start and end around the tasks it creates", async () => {
    const { token, projectId, hook } = await setup({
      send_for_all_actions: false,
      actions: ["STORAGE_SYNC_STARTED", "STORAGE_SYNC_COMPLETED", "TASKS_CREATED"],
    });
    const folder = join(localRoot, `sync-${projectId}`);
    mkdirSync(folder);
    for (let i = 0; i < 3; i++)
      writeFileSync(join(folder, `t${i}.json`), JSON.stringify({ text: `synced ${i}` }));
    const storage = await call(token, "POST", "/api/storages/localfiles", {
      project: projectId,
      path: folder,
    });
    expect(storage.status).toBe(201);
    await call(token, "POST", `/api/storages/localfiles/${storage.body.id}/sync`);
    await until("three deliveries", () => receiver.received.length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const r of receiver.received) expect(() => verified(hook.secret, r)).not.toThrow();
    const [started, created, completed] = receiver.received.map((r) => r.json);
    expect(receiver.received).toHaveLength(3);
    expect(started).toMatchObject({
      action: "STORAGE_SYNC_STARTED",
      storage: { id: storage.body.id, type: "localfiles", project: projectId },
    });
    expect(created.action).toBe("TASKS_CREATED");
    expect(created.tasks.map((t: { data: unknown }) => t.data)).toEqual([
      { text: "synced 0" },
      { text: "synced 1" },
      { text: "synced 2" },
    ]);
    expect(completed).toMatchObject({
      action: "STORAGE_SYNC_COMPLETED",
      storage: { id: storage.body.id },
      tasks_created: 3,
    });
  });

  /**
   * A local storage's sync whose every attempt fails, until `heal` drops the trigger that
   * refuses its writes: at its first batch, after it started (`batch`), or as its job is marked
   * completed, after its last batch committed (`end`, as when its process stops in between).
   */
  async function failingSync(token: string, projectId: number, at: "batch" | "end" = "batch") {
    const folder = join(localRoot, `failing-${projectId}`);
    mkdirSync(folder);
    writeFileSync(join(folder, "t.json"), JSON.stringify({ text: "retried" }));
    const storage = await call(token, "POST", "/api/storages/localfiles", {
      project: projectId,
      path: folder,
    });
    expect(storage.status).toBe(201);
    const storageId = storage.body.id as number;
    const trigger = `refuse_storage_${storageId}`;
    await database.db.execute(
      sql.raw(`create function ${trigger}() returns trigger language plpgsql as $$
        begin raise exception 'the storage is unavailable'; end $$`),
    );
    const [table, when] =
      at === "batch"
        ? ["storage_objects", `new.storage_id = ${storageId}`]
        : ["jobs", `new.status = 'completed' and (new.data->>'storageId')::int = ${storageId}`];
    await database.db.execute(
      sql.raw(`create trigger ${trigger} before ${at === "batch" ? "insert" : "update"} on ${table}
        for each row when (${when}) execute function ${trigger}()`),
    );
    const sync = await call(token, "POST", `/api/storages/localfiles/${storageId}/sync`);
    expect(sync.status).toBe(200);
    const heal = async () => {
      await database.db.execute(sql.raw(`drop trigger ${trigger} on ${table}`));
      await database.db.execute(sql.raw(`drop function ${trigger}()`));
    };
    return { storageId, jobId: sync.body.last_sync_job as string, heal };
  }

  it("announces a sync once when its first attempt fails after starting and a retry completes it", async () => {
    const { token, projectId } = await setup({
      send_for_all_actions: false,
      actions: ["STORAGE_SYNC_STARTED", "STORAGE_SYNC_COMPLETED", "STORAGE_SYNC_FAILED"],
    });
    const { storageId, jobId, heal } = await failingSync(token, projectId);
    await until(
      "the first attempt to fail",
      async () => (await jobs.get(jobId))?.status === "retrying",
    );
    await heal();
    const job = await until("the sync to end", async () => {
      const row = await jobs.get(jobId);
      return row?.status === "completed" ? row : undefined;
    });
    expect(job.attempt).toBe(2);
    await until("the completion's delivery", () =>
      receiver.received.some((r) => r.json.action === "STORAGE_SYNC_COMPLETED"),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received.map((r) => r.json)).toEqual([
      expect.objectContaining({
        action: "STORAGE_SYNC_STARTED",
        job: jobId,
        storage: { id: storageId, type: "localfiles", project: projectId },
      }),
      expect.objectContaining({ action: "STORAGE_SYNC_COMPLETED", job: jobId, tasks_created: 1 }),
    ]);
  });

  it("announces a sync completed once when its job could not be marked completed after its last batch", async () => {
    const { token, projectId } = await setup({
      send_for_all_actions: false,
      actions: ["STORAGE_SYNC_STARTED", "STORAGE_SYNC_COMPLETED", "STORAGE_SYNC_FAILED"],
    });
    const { jobId, heal } = await failingSync(token, projectId, "end");
    await until(
      "the first attempt to end unmarked",
      async () => (await jobs.get(jobId))?.status === "retrying",
    );
    await heal();
    const job = await until("the sync to end", async () => {
      const row = await jobs.get(jobId);
      return row?.status === "completed" ? row : undefined;
    });
    expect(job.attempt).toBe(2);
    await until("the completion's delivery", () =>
      receiver.received.some((r) => r.json.action === "STORAGE_SYNC_COMPLETED"),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received.map((r) => r.json)).toEqual([
      expect.objectContaining({ action: "STORAGE_SYNC_STARTED", job: jobId }),
      expect.objectContaining({
        action: "STORAGE_SYNC_COMPLETED",
        job: jobId,
        objects_listed: 1,
        tasks_created: 1,
      }),
    ]);
  });

  it("announces a sync that fails on every attempt as started once and failed once", async () => {
    const { token, projectId } = await setup();
    const { storageId, jobId, heal } = await failingSync(token, projectId);
    const job = await until("the sync to fail", async () => {
      const row = await jobs.get(jobId);
      return row?.status === "failed" ? row : undefined;
    });
    await heal();
    expect(job.attempt).toBe(3);
    await until("the failure's delivery", () =>
      receiver.received.some((r) => r.json.action === "STORAGE_SYNC_FAILED"),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received.map((r) => r.json)).toEqual([
      expect.objectContaining({ action: "STORAGE_SYNC_STARTED", job: jobId }),
      expect.objectContaining({
        action: "STORAGE_SYNC_FAILED",
        job: jobId,
        storage: { id: storageId, type: "localfiles", project: projectId },
        error: job.error,
      }),
    ]);
  });

  it("sends one event per annotation write, in Label Studio's shape, none for a refused write", async () => {
    const tenant = await createTenant(database.db);
    const token = tenant.token;
    const project = await call(token, "POST", "/api/projects/", {
      title: "Annotated",
      label_config: `<View><Text name="text" value="$text"/>
        <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>`,
    });
    const projectId = project.body.id as number;
    const one = (
      await call(token, "POST", "/api/tasks/", { project: projectId, data: { text: "1" } })
    ).body.id as number;
    const two = (
      await call(token, "POST", "/api/tasks/", { project: projectId, data: { text: "2" } })
    ).body.id as number;
    const hook = await call(token, "POST", "/api/webhooks/", {
      project: projectId,
      url: receiver.url,
      send_for_all_actions: false,
      actions: [
        "ANNOTATION_CREATED",
        "ANNOTATIONS_CREATED",
        "ANNOTATION_UPDATED",
        "ANNOTATIONS_DELETED",
      ],
    });
    expect(hook.status).toBe(201);
    const region = (choice: string) => ({
      id: "r1",
      from_name: "sentiment",
      to_name: "text",
      type: "choices",
      value: { choices: [choice] },
    });

    const refused = await call(token, "POST", `/api/tasks/${one}/annotations/`, {
      result: [{ ...region("pos"), type: "labels" }],
    });
    expect(refused.status).toBe(400);
    const created = await call(token, "POST", `/api/tasks/${one}/annotations/`, {
      result: [region("pos")],
    });
    expect(created.status).toBe(201);
    const refusedUpdate = await call(token, "PATCH", `/api/annotations/${created.body.id}/`, {
      result: [{ ...region("pos"), type: "labels" }],
    });
    expect(refusedUpdate.status).toBe(400);
    const updated = await call(token, "PATCH", `/api/annotations/${created.body.id}/`, {
      result: [region("neg")],
    });
    expect(updated.status).toBe(200);
    const bulk = await call(token, "POST", "/api/annotations/bulk/", {
      tasks: [one, two],
      result: [region("pos")],
    });
    expect(bulk.status).toBe(201);
    expect((await call(token, "DELETE", `/api/annotations/${created.body.id}/`)).status).toBe(204);

    await until("four deliveries", () => receiver.received.length >= 4);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rows = await database.db
      .select()
      .from(webhookEvents)
      .where(eq(webhookEvents.webhookId, hook.body.id));
    expect(rows).toHaveLength(4);
    const [c, u, b, d] = receiver.received.map((r) => r.json);
    expect(receiver.received.map((r) => r.json.action)).toEqual([
      "ANNOTATION_CREATED",
      "ANNOTATION_UPDATED",
      "ANNOTATIONS_CREATED",
      "ANNOTATIONS_DELETED",
    ]);
    expect(Object.keys(c).sort()).toEqual(["action", "annotation", "project", "task"]);
    expect(c.annotation).toEqual({ ...created.body, created_ago: expect.any(String) });
    expect(c.task).toMatchObject({ id: one, data: { text: "1" }, total_annotations: 1 });
    expect(c.project).toMatchObject({ id: projectId, title: "Annotated" });
    expect(u.annotation).toMatchObject({ id: created.body.id, result: [region("neg")] });
    expect(u.task).toMatchObject({ id: one });
    expect(b.annotation.map((a: { id: number }) => a.id)).toEqual(
      bulk.body.map((a: { id: number }) => a.id),
    );
    expect(b.annotation[0]).toMatchObject({ bulk_created: true, task: one });
    expect(b.task.map((t: { id: number }) => t.id)).toEqual([one, two]);
    expect(b.project).toMatchObject({ id: projectId });
    expect(d).toMatchObject({ annotations: [{ id: created.body.id }], project: { id: projectId } });
    for (const r of receiver.received) expect(() => verified(hook.body.secret, r)).not.toThrow();
  });

  it("sends one event per prediction write, none for a refused write", async () => {
    const tenant = await createTenant(database.db);
    const token = tenant.token;
    const project = await call(token, "POST", "/api/projects/", {
      title: "Predicted",
      label_config: `<View><Text name="text" value="$text"/>
        <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>`,
    });
    const projectId = project.body.id as number;
    const one = (
      await call(token, "POST", "/api/tasks/", { project: projectId, data: { text: "1" } })
    ).body.id as number;
    const hook = await call(token, "POST", "/api/webhooks/", {
      project: projectId,
      url: receiver.url,
      send_for_all_actions: false,
      actions: ["PREDICTIONS_CREATED", "PREDICTION_UPDATED", "PREDICTIONS_DELETED"],
    });
    expect(hook.status).toBe(201);
    const region = (choice: string) => ({
      from_name: "sentiment",
      to_name: "text",
      type: "choices",
      value: { choices: [choice] },
    });

    const refused = await call(token, "POST", "/api/predictions/", {
      task: one,
      result: [{ ...region("pos"), type: "labels" }],
    });
    expect(refused.status).toBe(400);
    const created = await call(token, "POST", "/api/predictions/", {
      task: one,
      result: [region("pos")],
      score: 0.5,
    });
    expect(created.status).toBe(201);
    const imported = await call(token, "POST", `/api/projects/${projectId}/import/predictions`, [
      { task: one, result: [region("neg")] },
      { task: one, result: [region("pos")] },
    ]);
    expect(imported.status).toBe(201);
    const updated = await call(token, "PATCH", `/api/predictions/${created.body.id}/`, {
      score: 0.9,
    });
    expect(updated.status).toBe(200);
    expect((await call(token, "DELETE", `/api/predictions/${created.body.id}/`)).status).toBe(204);

    await until("four deliveries", () => receiver.received.length >= 4);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rows = await database.db
      .select()
      .from(webhookEvents)
      .where(eq(webhookEvents.webhookId, hook.body.id));
    expect(rows).toHaveLength(4);
    const [c, i, u, d] = receiver.received.map((r) => r.json);
    expect(receiver.received.map((r) => r.json.action)).toEqual([
      "PREDICTIONS_CREATED",
      "PREDICTIONS_CREATED",
      "PREDICTION_UPDATED",
      "PREDICTIONS_DELETED",
    ]);
    expect(c.predictions.map((p: { id: number }) => p.id)).toEqual([created.body.id]);
    expect(c.project).toMatchObject({ id: projectId, title: "Predicted" });
    expect(i.predictions).toHaveLength(2);
    expect(i.predictions[0]).toMatchObject({ task: one, result: [region("neg")] });
    expect(Object.keys(u).sort()).toEqual(["action", "prediction", "project", "task"]);
    expect(u.prediction).toMatchObject({ id: created.body.id, score: 0.9 });
    expect(u.task).toMatchObject({ id: one, total_predictions: 3 });
    expect(d).toMatchObject({ predictions: [{ id: created.body.id }], project: { id: projectId } });
    for (const r of receiver.received) expect(() => verified(hook.body.secret, r)).not.toThrow();
  });
});
