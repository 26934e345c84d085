/**
 * The storage API over HTTP as both Label Studio SDK generations call it (paths without the
 * trailing slash, their JSON bodies, the fields they read), kept as wire-shape tests because CI
 * has no SDK; and the media URLs of synced tasks, fetched as a browser would.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type ApiHandler, createApiHandler } from "../src/http";
import type { JobSystem } from "../src/jobs";
import { createJobSystem } from "../src/jobs/queues";
import { createTestDatabase, type TestDatabase } from "./support/db";
import { createTenant } from "./support/fixtures";
import { S3_ACCESS_KEY, S3_SECRET_KEY, startS3, type TestS3 } from "./support/s3";
import { type ApiServer, startApiServer } from "./support/server";

let database: TestDatabase;
let s3: TestS3;
let jobs: JobSystem;
let api: ApiHandler;
let server: Server;
let base: string;
let localRoot: string;
const secretKey = new TextEncoder().encode("a test signing key of at least 32 bytes");
/** s3rver listens on loopback, which storages may reach only when the server allows it. */
const network = { allowNetworks: ["127.0.0.0/8"] };

beforeAll(async () => {
  [database, s3] = await Promise.all([createTestDatabase(), startS3()]);
  localRoot = mkdtempSync(join(tmpdir(), "taskport-local-"));
  jobs = createJobSystem({
    db: database.db,
    pollingIntervalSeconds: 0.5,
    storage: { secretKey, localFilesRoot: localRoot },
    network,
    logError: () => {},
  });
  await jobs.start();
  api = await createApiHandler({
    db: database.db,
    secretKey,
    jobs,
    localFilesRoot: localRoot,
    network,
  });
  server = createServer(api.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await api.close();
  await jobs.stop(2000);
  await Promise.all([database.close(), s3.close()]);
  rmSync(localRoot, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
type Answer = { status: number; headers: Headers; text: string; body: any };

function call(token: string, method: string, path: string, json?: unknown): Promise<Answer> {
  return callAt(base, token, method, path, json);
}

async function callAt(
  at: string,
  token: string,
  method: string,
  path: string,
  json?: unknown,
): Promise<Answer> {
  const response = await fetch(`${at}${path}`, {
    method,
    redirect: "manual",
    headers: {
      authorization: `Token ${token}`,
      ...(json === undefined ? {} : { "content-type": "application/json" }),
    },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

async function tenantWithProject(labelConfig: string) {
  const tenant = await createTenant(database.db);
  const project = await tenant.caller.project.create({ title: "Media", label_config: labelConfig });
  return { token: tenant.token, project };
}

async function waitForSync(token: string, path: string) {
  return vi.waitFor(
    async () => {
      const { body } = await call(token, "GET", path);
      if (body.status === "queued" || body.status === "in_progress") throw new Error(body.status);
      return body;
    },
    { timeout: 30_000, interval: 100 },
  );
}

const S3_FIELDS = [
  "id",
  "type",
  "synchronizable",
  "presign",
  "bucket",
  "prefix",
  "regex_filter",
  "use_blob_urls",
  "aws_sse_kms_key_id",
  "region_name",
  "s3_endpoint",
  "presign_ttl",
  "recursive_scan",
  "last_sync",
  "last_sync_count",
  "last_sync_job",
  "status",
  "traceback",
  "meta",
  "title",
  "description",
  "created_at",
  "project",
];

describe("storage API over HTTP", () => {
  it("serves Label Studio's S3 storage calls: create, list, get, patch, validate, sync, delete", async () => {
    const { token, project } = await tenantWithProject(
      '<View><Text name="text" value="$text"/></View>',
    );
    const bucket = await s3.createBucket();
    await s3.put(bucket, "one.json", JSON.stringify({ text: "one" }));
    // The SDKs' create body: every field they know, unset ones left out.
    const created = await call(token, "POST", "/api/storages/s3", {
      project: project.id,
      bucket,
      prefix: null,
      title: "Bucket",
      presign: true,
      presign_ttl: 5,
      use_blob_urls: false,
      aws_access_key_id: S3_ACCESS_KEY,
      aws_secret_access_key: S3_SECRET_KEY,
      region_name: "us-east-1",
      s3_endpoint: s3.endpoint,
    });
    expect(created.status).toBe(201);
    for (const field of S3_FIELDS) expect(created.body).toHaveProperty(field);
    expect(created.body).not.toHaveProperty("aws_access_key_id");
    expect(created.body).not.toHaveProperty("aws_secret_access_key");
    expect(created.text).not.toContain(S3_SECRET_KEY);
    expect(created.body).toMatchObject({
      type: "s3",
      status: "initialized",
      presign_ttl: 5,
      project: project.id,
      last_sync: null,
      last_sync_count: null,
      meta: {},
    });
    expect(created.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const id = created.body.id;

    const listed = await call(token, "GET", `/api/storages/s3?project=${project.id}`);
    expect(listed.status).toBe(200);
    expect(listed.body.map((s: { id: number }) => s.id)).toEqual([id]);
    expect((await call(token, "GET", "/api/storages/s3")).status).toBe(404);

    const patched = await call(token, "PATCH", `/api/storages/s3/${id}`, { title: "Renamed" });
    expect(patched).toMatchObject({ status: 200, body: { title: "Renamed", bucket } });

    const valid = await call(token, "POST", "/api/storages/s3/validate", {
      project: project.id,
      id,
      bucket,
    });
    expect(valid.status).toBe(200);
    expect(valid.text).toBe("");
    const invalid = await call(token, "POST", "/api/storages/s3/validate", {
      project: project.id,
      bucket: "missing-bucket",
      s3_endpoint: s3.endpoint,
      aws_access_key_id: S3_ACCESS_KEY,
      aws_secret_access_key: S3_SECRET_KEY,
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({
      status_code: 400,
      detail: "Validation error",
      validation_errors: { non_field_errors: ["Cannot find bucket missing-bucket in S3"] },
    });

    const sync = await call(token, "POST", `/api/storages/s3/${id}/sync`);
    expect(sync.status).toBe(200);
    expect(["queued", "in_progress", "completed"]).toContain(sync.body.status);
    expect(typeof sync.body.last_sync_job).toBe("string");
    const done = await waitForSync(token, `/api/storages/s3/${id}`);
    expect(done).toMatchObject({ status: "completed", last_sync_count: 1 });
    expect(done.last_sync).toMatch(/Z$/);
    const job = await call(token, "GET", `/api/jobs/${done.last_sync_job}/`);
    expect(job.body).toMatchObject({ status: "completed", progress: { tasks_created: 1 } });

    const missing = await call(token, "GET", "/api/storages/s3/999999");
    expect(missing).toMatchObject({
      status: 404,
      body: { detail: "No S3ImportStorage matches the given query." },
    });
    expect((await call(token, "DELETE", `/api/storages/s3/${id}`)).status).toBe(204);
    expect((await call(token, "GET", `/api/storages/s3/${id}`)).status).toBe(404);
  });

  it("makes one task per media object whose URL redirects to a presigned URL, or streams it", async () => {
    const { token, project } = await tenantWithProject(
      '<View><Image name="image" value="$image"/></View>',
    );
    const bucket = await s3.createBucket();
    const pixels = Buffer.from("not really a png, but bytes all the same");
    await s3.put(bucket, "cat.png", pixels);
    await s3.put(bucket, "dog.png", pixels);
    const created = await call(token, "POST", "/api/storages/s3", {
      project: project.id,
      bucket,
      use_blob_urls: true,
      s3_endpoint: s3.endpoint,
      aws_access_key_id: S3_ACCESS_KEY,
      aws_secret_access_key: S3_SECRET_KEY,
    });
    await call(token, "POST", `/api/storages/s3/${created.body.id}/sync`);
    const done = await waitForSync(token, `/api/storages/s3/${created.body.id}`);
    expect(done.meta.tasks_created).toBe(2);

    const list = await call(token, "GET", `/api/tasks/?project=${project.id}`);
    const [task] = list.body.tasks;
    expect(task.data.image).toMatch(/^\/api\/tasks\/\d+\/resolve\/\?fileuri=/);
    const fileuri = new URL(task.data.image, base).searchParams.get("fileuri") ?? "";
    expect(Buffer.from(fileuri, "base64url").toString()).toBe(`s3://${bucket}/cat.png`);
    const one = await call(token, "GET", `/api/tasks/${task.id}/`);
    expect(one.body.data.image).toBe(task.data.image);

    const redirect = await call(token, "GET", task.data.image);
    expect(redirect.status).toBe(303);
    const location = redirect.headers.get("location") ?? "";
    expect(location).toContain("X-Amz-Signature=");
    expect(location).toContain("X-Amz-Expires=60");
    const fetched = await fetch(location);
    expect(Buffer.from(await fetched.arrayBuffer())).toEqual(pixels);

    await call(token, "PATCH", `/api/storages/s3/${created.body.id}`, { presign: false });
    const streamed = await call(token, "GET", task.data.image);
    expect(streamed.status).toBe(200);
    expect(streamed.text).toBe(pixels.toString());
    expect(streamed.headers.get("x-content-type-options")).toBe("nosniff");

    const stranger = await createTenant(database.db);
    expect((await call(stranger.token, "GET", task.data.image)).status).toBe(404);
    const forged = Buffer.from("s3://other-bucket/secret.png").toString("base64url");
    expect(
      (await call(token, "GET", `/api/tasks/${task.id}/resolve/?fileuri=${forged}`)).status,
    ).toBe(404);
  });

  it("serves a local folder's media at Label Studio's /data/local-files/ URL, to its organization only", async () => {
    const { token, project } = await tenantWithProject(
      '<View><Image name="image" value="$image"/></View>',
    );
    const folder = join(localRoot, `media-${project.id}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, "a.jpg"), "jpeg bytes");
    writeFileSync(join(localRoot, "outside.txt"), "not in any storage");
    const created = await call(token, "POST", "/api/storages/localfiles", {
      project: project.id,
      path: folder,
      use_blob_urls: true,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: "localfiles", path: folder, use_blob_urls: true });
    await call(token, "POST", `/api/storages/localfiles/${created.body.id}/sync`);
    await waitForSync(token, `/api/storages/localfiles/${created.body.id}`);
    const list = await call(token, "GET", `/api/tasks/?project=${project.id}`);
    const url = list.body.tasks[0].data.image;
    expect(url).toBe(`/data/local-files/?d=${encodeURIComponent(`media-${project.id}/a.jpg`)}`);
    const media = await call(token, "GET", url);
    expect(media).toMatchObject({ status: 200, text: "jpeg bytes" });
    expect(media.headers.get("content-type")).toBe("image/jpeg");
    expect((await call(token, "GET", "/data/local-files/?d=outside.txt")).status).toBe(404);
    expect((await call(token, "GET", "/data/local-files/?d=../../etc/passwd")).status).toBe(404);
    const stranger = await createTenant(database.db);
    expect((await call(stranger.token, "GET", url)).status).toBe(404);
  });
});

describe("S3 endpoints and the server's network policy", () => {
  const TEXT = '<View><Text name="text" value="$text"/></View>';
  /** The same API on a server that allows no private network: the default. */
  let strict: ApiServer;
  beforeAll(async () => {
    strict = await startApiServer({ db: database.db, secretKey, jobs });
  });
  afterAll(async () => {
    await strict.close();
  });

  const s3Body = (project: number, bucket: string, endpoint: string) => ({
    project,
    bucket,
    s3_endpoint: endpoint,
    aws_access_key_id: S3_ACCESS_KEY,
    aws_secret_access_key: S3_SECRET_KEY,
  });

  it("refuses link-local, private and (unless allowed) loopback endpoints as a 400 on s3_endpoint", async () => {
    const { token, project } = await tenantWithProject(TEXT);
    const bucket = await s3.createBucket();
    const port = new URL(s3.endpoint).port;
    const refused = [
      ["http://169.254.169.254", "linkLocal"],
      ["http://[::ffff:169.254.169.254]", "linkLocal"],
      ["http://10.0.0.1:9000", "private"],
      ["http://0.0.0.0:9000", "unspecified"],
    ] as const;
    for (const [endpoint, range] of refused) {
      for (const path of ["/api/storages/s3", "/api/storages/s3/validate"]) {
        const answer = await call(token, "POST", path, s3Body(project.id, bucket, endpoint));
        expect(answer.status, `${path} ${endpoint}`).toBe(400);
        expect(Object.keys(answer.body.validation_errors)).toEqual(["s3_endpoint"]);
        expect(answer.body.validation_errors.s3_endpoint[0]).toContain(`is a ${range} address`);
        expect(answer.body.validation_errors.s3_endpoint[0]).toContain(
          "TASKPORT_OUTBOUND_ALLOW_NETWORKS",
        );
      }
    }
    // s3rver on loopback, by address and by name: refused where loopback is not allowed.
    for (const endpoint of [s3.endpoint, `http://localhost:${port}`]) {
      const answer = await callAt(
        strict.base,
        token,
        "POST",
        "/api/storages/s3",
        s3Body(project.id, bucket, endpoint),
      );
      expect(answer.status, endpoint).toBe(400);
      expect(answer.body.validation_errors.s3_endpoint[0]).toContain("is a loopback address");
    }
    const list = await call(token, "GET", `/api/storages/s3?project=${project.id}`);
    expect(list.body).toEqual([]);
  });

  it("checks a changed endpoint on PATCH, and the stored one again on validate and sync", async () => {
    const { token, project } = await tenantWithProject(TEXT);
    const bucket = await s3.createBucket();
    await s3.put(bucket, "a.json", JSON.stringify({ text: "a" }));
    const created = await call(
      token,
      "POST",
      "/api/storages/s3",
      s3Body(project.id, bucket, s3.endpoint),
    );
    expect(created.status).toBe(201);
    const path = `/api/storages/s3/${created.body.id}`;

    const patched = await call(token, "PATCH", path, { s3_endpoint: "http://169.254.169.254" });
    expect(patched.status).toBe(400);
    expect(patched.body.validation_errors.s3_endpoint[0]).toContain("linkLocal");
    expect((await call(token, "GET", path)).body.s3_endpoint).toBe(s3.endpoint);

    // The stored endpoint, used again where loopback is not allowed: refused before any sync.
    const revalidated = await callAt(strict.base, token, "POST", "/api/storages/s3/validate", {
      id: created.body.id,
      project: project.id,
    });
    expect(revalidated.status).toBe(400);
    expect(revalidated.body.validation_errors.s3_endpoint[0]).toContain("loopback");
    const repatched = await callAt(strict.base, token, "PATCH", path, { prefix: "" });
    expect(repatched.status).toBe(400);
    expect(repatched.body.validation_errors.s3_endpoint).toBeDefined();
    const sync = await callAt(strict.base, token, "POST", `${path}/sync`);
    expect(sync.status).toBe(400);
    expect(sync.body.validation_errors.s3_endpoint).toBeDefined();
    expect((await call(token, "GET", `/api/tasks/?project=${project.id}`)).body.tasks).toEqual([]);
  });

  it("refuses to stream a task's object from an endpoint the policy refuses: 400, never 500", async () => {
    const { token, project } = await tenantWithProject(
      '<View><Image name="image" value="$image"/></View>',
    );
    const bucket = await s3.createBucket();
    await s3.put(bucket, "a.png", "pixels");
    const created = await call(token, "POST", "/api/storages/s3", {
      ...s3Body(project.id, bucket, s3.endpoint),
      presign: false,
      use_blob_urls: true,
    });
    expect(created.status).toBe(201);
    await call(token, "POST", `/api/storages/s3/${created.body.id}/sync`);
    await waitForSync(token, `/api/storages/s3/${created.body.id}`);
    const list = await call(token, "GET", `/api/tasks/?project=${project.id}`);
    const url: string = list.body.tasks[0].data.image;
    expect((await call(token, "GET", url)).status).toBe(200);
    const refused = await callAt(strict.base, token, "GET", url);
    expect(refused.status).toBe(400);
    expect(refused.body.validation_errors.s3_endpoint[0]).toContain("loopback");
  });
});
