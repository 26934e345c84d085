/**
 * Every endpoint and every procedure against every way of not being allowed in: no
 * credentials, a malformed header, a revoked token, an expired access JWT and a logged-out
 * session each get 401; another organization's valid token gets 404 for the first one's objects.
 */
import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSession, deleteSession, SESSION_COOKIE } from "../src/auth/session";
import { appRouter, createCaller, createTRPCContext } from "../src/index";
import { createToken, revokeToken } from "../src/services/token";
import {
  type ApiServer,
  createTenant,
  createTestDatabase,
  startApiServer,
  type TestDatabase,
} from "./support";

let tdb: TestDatabase;
let server: ApiServer;
let base: string;
const secretKey = randomBytes(32);
let projectId: number;
let taskId: number;
let ownerTokenId: number;
let stranger: Record<string, string>;
const refused: Record<string, Record<string, string>> = {};

beforeAll(async () => {
  tdb = await createTestDatabase();
  server = await startApiServer({ db: tdb.db, secretKey, logError: () => {} });
  base = server.base;

  const owner = await createTenant(tdb.db);
  const project = await owner.caller.project.create({ title: "Owned" });
  projectId = project.id;
  taskId = (await owner.caller.task.create({ data: { a: 1 }, project: projectId })).id;
  const revoked = await createToken(
    tdb.db,
    owner.actor,
    { name: "to revoke", kind: "key" },
    secretKey,
  );
  ownerTokenId = revoked.id;
  await revokeToken(tdb.db, owner.actor, revoked.id);
  const pat = await createToken(tdb.db, owner.actor, { name: "pat", kind: "pat" }, secretKey);
  const now = Math.floor(Date.now() / 1000);
  const expired = await new SignJWT({
    token_type: "access",
    user_id: owner.actor.userId,
    token_id: pat.id,
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now - 600)
    .setExpirationTime(now - 300)
    .sign(secretKey);
  const session = await createSession(tdb.db, owner.actor.userId);
  await deleteSession(tdb.db, session.secret);
  refused["no credentials"] = {};
  refused["malformed header"] = { authorization: "Token" };
  refused["revoked token"] = { authorization: `Token ${revoked.token}` };
  refused["expired access JWT"] = { authorization: `Bearer ${expired}` };
  refused["logged-out session"] = { cookie: `${SESSION_COOKIE}=${session.secret}` };
  stranger = (await createTenant(tdb.db)).headers;
});
afterAll(async () => {
  await server?.close();
  await tdb?.close();
});

type Call = [method: string, path: () => string, body?: () => unknown];
const objectEndpoints: Call[] = [
  ["POST", () => "/api/tasks/", () => ({ data: { a: 2 }, project: projectId })],
  ["GET", () => `/api/tasks/?project=${projectId}`],
  ["GET", () => `/api/tasks/${taskId}/`],
  ["PATCH", () => `/api/tasks/${taskId}/`, () => ({ data: { a: 3 } })],
  ["DELETE", () => `/api/tasks/${taskId}/`],
  ["GET", () => `/api/projects/${projectId}/`],
  ["PATCH", () => `/api/projects/${projectId}/`, () => ({ title: "Taken" })],
  ["DELETE", () => `/api/projects/${projectId}/`],
  ["POST", () => `/api/projects/${projectId}/import`, () => [{ a: 4 }]],
  ["POST", () => `/api/projects/${projectId}/validate/`, () => ({ label_config: "<View></View>" })],
  ["GET", () => `/api/projects/${projectId}/summary/`],
  ["DELETE", () => `/api/tokens/${ownerTokenId}/`],
];
const endpoints: Call[] = [
  ...objectEndpoints,
  ["GET", () => "/api/projects/"],
  ["POST", () => "/api/projects/", () => ({ title: "New" })],
  ["GET", () => "/api/tokens/"],
  ["POST", () => "/api/tokens/", () => ({ name: "new" })],
  ["GET", () => "/api/current-user/whoami"],
  ["GET", () => "/api/current-user/"],
  ["GET", () => "/api/current-user/token"],
  ["POST", () => "/api/current-user/reset-token/"],
  ["GET", () => "/api/token/"],
  ["POST", () => "/api/token/"],
  ["POST", () => "/api/token/rotate/", () => ({ refresh: "x" })],
  // Storages: other organizations get 404 in storage-sync.test.ts and storage-rest.test.ts.
  ...(["s3", "localfiles"] as const).flatMap((type): Call[] => [
    ["GET", () => `/api/storages/${type}/?project=${projectId}`],
    ["POST", () => `/api/storages/${type}/`, () => ({ project: projectId, bucket: "b" })],
    ["POST", () => `/api/storages/${type}/validate`, () => ({ project: projectId })],
    ["GET", () => `/api/storages/${type}/1/`],
    ["PATCH", () => `/api/storages/${type}/1/`, () => ({ title: "Taken" })],
    ["DELETE", () => `/api/storages/${type}/1/`],
    ["POST", () => `/api/storages/${type}/1/sync`],
    ["POST", () => `/api/storages/${type}/1/cancel`],
  ]),
  ["GET", () => "/api/storages/types"],
  ["GET", () => "/api/jobs/00000000-0000-4000-8000-000000000000/"],
  ["POST", () => "/api/jobs/00000000-0000-4000-8000-000000000000/cancel"],
  ["GET", () => `/api/tasks/${taskId}/resolve/?fileuri=czM6Ly9iL2s`],
  ["GET", () => "/data/local-files/?d=a.jpg"],
];

async function send([method, path, body]: Call, headers: Record<string, string>) {
  const res = await fetch(`${base}${path()}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body()),
  });
  return {
    status: res.status,
    body: (await res.json()) as { detail?: string; status_code?: number },
  };
}

async function ownerState() {
  const owner = createCaller(
    createTRPCContext({ db: tdb.db, headers: {}, actor: { userId: 1, organizationId: 1 } }),
  );
  return JSON.stringify([
    await owner.project.byId({ id: projectId }),
    await owner.task.byId({ id: taskId }),
  ]);
}

describe("REST: every endpoint refuses", () => {
  it("each way of not being signed in with 401 and the error body", async () => {
    const before = await ownerState();
    for (const [kind, headers] of Object.entries(refused)) {
      for (const call of endpoints) {
        const answer = await send(call, headers);
        expect(answer.status, `${kind}: ${call[0]} ${call[1]()}`).toBe(401);
        expect(answer.body.status_code).toBe(401);
        expect(answer.body.detail).toEqual(expect.any(String));
      }
    }
    expect(await ownerState()).toBe(before);
  });

  it("another organization's objects with 404, changing nothing", async () => {
    const before = await ownerState();
    for (const call of objectEndpoints) {
      const answer = await send(call, stranger);
      expect(answer.status, `${call[0]} ${call[1]()}`).toBe(404);
    }
    expect(await ownerState()).toBe(before);
  });
});

describe("tRPC: every protected procedure refuses", () => {
  const procedures = Object.keys(appRouter._def.procedures).filter(
    (name) => !name.startsWith("health."),
  );

  it("covers the whole router", () => {
    expect(procedures).toEqual(
      expect.arrayContaining([
        "task.create",
        "task.import",
        "project.update",
        "token.revoke",
        "user.create",
      ]),
    );
  });

  it("each way of not being signed in with UNAUTHORIZED", async () => {
    for (const [kind, headers] of Object.entries(refused)) {
      const caller = createCaller(createTRPCContext({ db: tdb.db, headers, secretKey }));
      for (const name of procedures) {
        const [router, procedure] = name.split(".") as [string, string];
        const fn = (
          caller as unknown as Record<string, Record<string, (input: unknown) => Promise<unknown>>>
        )[router]?.[procedure];
        if (!fn) throw new Error(`no procedure ${name}`);
        await expect(
          fn({ id: taskId, project: projectId, data: { a: 1 } }),
          `${kind}: ${name}`,
        ).rejects.toMatchObject({
          code: "UNAUTHORIZED",
        });
      }
    }
  });
});
