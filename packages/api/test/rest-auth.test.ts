/**
 * Authentication and tokens over real HTTP: the three credential styles, revocation on the
 * next request, expired and malformed credentials, personal access tokens the way SDK 2.x uses
 * them, the requests the Label Studio SDKs send (headers, paths, bodies), and the token
 * procedures of tRPC.
 */
import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import { decodeJwt, SignJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSession } from "../src/auth/session";
import { apiTokens } from "../src/db/schema";
import { createCaller, createTRPCContext } from "../src/index";
import {
  ERROR_KEYS,
  PROJECT_KEYS,
  type RestServer,
  send,
  startRestServer,
  TASK_KEYS,
} from "./rest/server";
import { createTenant } from "./support/fixtures";

const TEXT_CONFIG = '<View><Text name="text" value="$text"/></View>';

let rest: RestServer;
let tenant: Awaited<ReturnType<typeof createTenant>>;

beforeAll(async () => {
  rest = await startRestServer();
});
afterAll(async () => {
  await rest?.close();
});
beforeEach(async () => {
  await rest.tdb.truncate();
  tenant = await createTenant(rest.tdb.db);
});

const get = (path: string, headers: Record<string, string>) =>
  send(rest.base, "GET", path, { headers });

function expect401(answer: Awaited<ReturnType<typeof send>>, detail: string) {
  expect(answer.status, answer.text).toBe(401);
  expect(Object.keys(answer.body)).toEqual(ERROR_KEYS);
  expect(answer.body).toMatchObject({ status_code: 401, detail, exc_info: null });
  expect(answer.headers.get("www-authenticate")).toBe("Token");
}

async function createPat(headers: Record<string, string>, name = "sdk") {
  const answer = await send(rest.base, "POST", "/api/tokens/", {
    headers,
    json: { name, kind: "pat" },
  });
  expect(answer.status, answer.text).toBe(201);
  return answer.body as { id: number; token: string };
}

async function refresh(pat: string) {
  return send(rest.base, "POST", "/api/token/refresh/", {
    headers: { "content-type": "application/json", "user-agent": "python-httpx/0.28.1" },
    json: { refresh: pat },
  });
}

describe("credentials", () => {
  it("accepts Token (any spaces), X-Api-Key and Bearer access JWTs", async () => {
    for (const authorization of [
      `Token ${tenant.token}`,
      `Token  ${tenant.token}`,
      `token\t${tenant.token}`,
    ]) {
      expect((await get("/api/projects/", { authorization })).status).toBe(200);
    }
    expect((await get("/api/projects/", { "x-api-key": tenant.token })).status).toBe(200);
    const pat = await createPat(tenant.headers);
    const access = await refresh(pat.token);
    expect(access.status, access.text).toBe(200);
    expect(Object.keys(access.body)).toEqual(["access"]);
    expect(
      (await get("/api/projects/", { authorization: `Bearer ${access.body.access}` })).status,
    ).toBe(200);
  });

  it("answers 401 without credentials, and to malformed or unknown ones", async () => {
    expect401(await get("/api/projects/", {}), "Authentication credentials were not provided.");
    expect401(await get("/api/tasks/1/", { authorization: "Token" }), "Invalid token.");
    expect401(await get("/api/tasks/1/", { authorization: "Token a b" }), "Invalid token.");
    expect401(await get("/api/tasks/1/", { authorization: "Bearer" }), "Invalid token.");
    expect401(await get("/api/tasks/1/", { authorization: "Bearer not.a.jwt" }), "Invalid token.");
    expect401(
      await get("/api/projects/", { authorization: "Token unknown-token-0123456789" }),
      "Invalid token.",
    );
    expect401(
      await get("/api/projects/", { "x-api-key": "unknown-token-0123456789" }),
      "Invalid token.",
    );
    // A PAT is a refresh token: it is not accepted where an access token is expected.
    const pat = await createPat(tenant.headers);
    expect401(
      await get("/api/projects/", { authorization: `Bearer ${pat.token}` }),
      "Invalid token.",
    );
    expect401(
      await get("/api/projects/", { authorization: `Token ${pat.token}` }),
      "Invalid token.",
    );
  });

  it("checks credentials before reading the body", async () => {
    const answer = await send(rest.base, "POST", "/api/tasks/", {
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect401(answer, "Authentication credentials were not provided.");
  });

  it("refuses an expired access JWT", async () => {
    const pat = await createPat(tenant.headers);
    const claims = decodeJwt(pat.token) as { user_id: number; token_id: number };
    const expired = await new SignJWT({
      token_type: "access",
      user_id: claims.user_id,
      token_id: claims.token_id,
    })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 300)
      .sign(rest.secretKey);
    expect401(
      await get("/api/projects/", { authorization: `Bearer ${expired}` }),
      "Token is expired.",
    );
    const forged = await new SignJWT({
      token_type: "access",
      user_id: claims.user_id,
      token_id: claims.token_id,
    })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("another key, another key, another key"));
    expect401(await get("/api/projects/", { authorization: `Bearer ${forged}` }), "Invalid token.");
  });

  it("accepts the session cookie, but not for a change requested from another site", async () => {
    const { secret } = await createSession(rest.tdb.db, tenant.user.id);
    const cookie = `taskport_session=${secret}`;
    expect((await get("/api/projects/", { cookie })).status).toBe(200);
    const sameSite = await send(rest.base, "POST", "/api/projects/", {
      headers: { cookie, origin: rest.base },
      json: { title: "From the web app" },
    });
    expect(sameSite.status, sameSite.text).toBe(201);
    const crossSite = await send(rest.base, "POST", "/api/projects/", {
      headers: { cookie, origin: "https://evil.example" },
      body: new URLSearchParams({ title: "Forged" }),
    });
    expect(crossSite.status).toBe(403);
    expect(Object.keys(crossSite.body)).toEqual(ERROR_KEYS);
    expect(crossSite.body.detail).toMatch(/^CSRF Failed/);
  });
});

describe("tokens over REST", () => {
  it("creates, lists and revokes keys; a secret is shown once and stored hashed", async () => {
    const created = await send(rest.base, "POST", "/api/tokens", {
      headers: tenant.headers,
      json: { name: "ci" },
    });
    expect(created.status, created.text).toBe(201);
    expect(Object.keys(created.body)).toEqual(["id", "name", "kind", "token", "created_at"]);
    expect(created.body).toMatchObject({ name: "ci", kind: "key" });
    const [row] = await rest.tdb.db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.id, created.body.id));
    expect(row?.tokenHash).toBe(createHash("sha256").update(created.body.token).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(created.body.token);

    const key = { authorization: `Token ${created.body.token}` };
    const list = await get("/api/tokens/", key);
    expect(list.status).toBe(200);
    expect(list.body.map((t: { name: string }) => t.name)).toEqual(["default", "ci"]);
    for (const token of list.body) {
      expect(Object.keys(token)).toEqual(["id", "name", "kind", "created_at", "revoked_at"]);
    }
    expect(list.text).not.toContain(created.body.token);

    const revoked = await send(rest.base, "DELETE", `/api/tokens/${created.body.id}/`, {
      headers: tenant.headers,
    });
    expect(revoked.status).toBe(204);
    expect401(await get("/api/projects/", key), "Invalid token.");
    expect401(await get("/api/projects/", { "x-api-key": created.body.token }), "Invalid token.");
    const after = await get("/api/tokens/", tenant.headers);
    expect(after.body[1].revoked_at).toMatch(/Z$/);
    // Revoking again is harmless; an unknown id is a 404.
    expect(
      (
        await send(rest.base, "DELETE", `/api/tokens/${created.body.id}`, {
          headers: tenant.headers,
        })
      ).status,
    ).toBe(204);
    const missing = await send(rest.base, "DELETE", "/api/tokens/999999/", {
      headers: tenant.headers,
    });
    expect(missing.status).toBe(404);
    expect(missing.body.detail).toBe("No Token matches the given query.");
    const invalid = await send(rest.base, "POST", "/api/tokens/", {
      headers: tenant.headers,
      json: { kind: "other" },
    });
    expect(invalid.status).toBe(400);
    expect(Object.keys(invalid.body.validation_errors).sort()).toEqual(["kind", "name"]);
    expect(invalid.body.validation_errors.name).toEqual(["This field is required."]);
  });

  it("ends a personal access token and its access JWTs on the next request", async () => {
    const pat = await createPat(tenant.headers);
    const claims = decodeJwt(pat.token);
    // SDK 2.x only treats a key as a PAT when it is a JWT with an expiry in the future.
    expect(claims).toMatchObject({
      token_type: "refresh",
      user_id: tenant.user.id,
      token_id: pat.id,
    });
    expect(claims.exp).toBeGreaterThan(Date.now() / 1000 + 365 * 24 * 3600);
    const { body } = await refresh(pat.token);
    const access = decodeJwt(body.access);
    expect(access.token_type).toBe("access");
    expect(Number(access.exp) - Number(access.iat)).toBe(300);
    const bearer = { authorization: `Bearer ${body.access}` };
    expect((await get("/api/projects/", bearer)).status).toBe(200);

    await send(rest.base, "DELETE", `/api/tokens/${pat.id}/`, { headers: tenant.headers });
    expect401(await get("/api/projects/", bearer), "Invalid token.");
    const again = await refresh(pat.token);
    expect(again.status).toBe(401);
    expect(again.body.detail).toBe("Token is invalid or expired");
  });

  it("refuses to refresh anything but a live personal access token", async () => {
    const missing = await send(rest.base, "POST", "/api/token/refresh", { json: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.validation_errors).toEqual({ refresh: ["This field is required."] });
    for (const refreshToken of [tenant.token, "a.b.c", "x"]) {
      const answer = await refresh(refreshToken);
      expect(answer.status).toBe(401);
      expect(Object.keys(answer.body)).toEqual(ERROR_KEYS);
      expect(answer.body.detail).toBe("Token is invalid or expired");
    }
    const pat = await createPat(tenant.headers);
    const { body } = await refresh(pat.token);
    expect((await refresh(body.access)).status).toBe(401);
  });
});

describe("requests shaped like the Label Studio SDKs'", () => {
  it("SDK 1.0.x (Fern): `Token  <key>` with two spaces, its headers, trailing-slash paths", async () => {
    const headers = {
      authorization: `Token  ${tenant.token}`,
      "user-agent": "python-httpx/0.27.0",
      "x-fern-language": "Python",
      "x-fern-sdk-name": "label-studio-sdk",
      "x-fern-sdk-version": "1.0.5",
    };
    const project = await send(rest.base, "POST", "/api/projects/", {
      headers,
      json: { title: "Fern", label_config: TEXT_CONFIG },
    });
    expect(project.status, project.text).toBe(201);
    const task = await send(rest.base, "POST", "/api/tasks/", {
      headers,
      json: { data: { text: "hello" }, project: project.body.id },
    });
    expect(task.status, task.text).toBe(201);
    expect(Object.keys(task.body)).toEqual(TASK_KEYS);
    const list = await get(`/api/tasks/?page=1&project=${project.body.id}`, headers);
    expect(list.body.tasks).toHaveLength(1);
    expect((await get(`/api/tasks/?page=2&project=${project.body.id}`, headers)).status).toBe(404);
    const projects = await get("/api/projects/?page=1", headers);
    expect(projects.body.results.map((p: { id: number }) => p.id)).toEqual([project.body.id]);
    const one = await get(`/api/projects/${project.body.id}/`, headers);
    expect(Object.keys(one.body)).toEqual(PROJECT_KEYS);
    const patched = await send(rest.base, "PATCH", `/api/projects/${project.body.id}/`, {
      headers,
      json: { title: "Fern 2" },
    });
    expect(patched.body.title).toBe("Fern 2");
  });

  it("SDK 2.x: a PAT refreshed at /api/token/refresh/, then Bearer on every call", async () => {
    const pat = await createPat(tenant.headers);
    const { body } = await refresh(pat.token);
    const headers = {
      authorization: `Bearer ${body.access}`,
      "user-agent": "python-httpx/0.28.1",
      "x-fern-language": "Python",
      "x-fern-sdk-name": "label-studio-sdk",
      "x-fern-sdk-version": "2.0.8",
    };
    const project = await send(rest.base, "POST", "/api/projects/", {
      headers,
      json: { title: "PAT", label_config: TEXT_CONFIG },
    });
    expect(project.status, project.text).toBe(201);
    const task = await send(rest.base, "POST", "/api/tasks/", {
      headers: { ...headers, "content-type": "application/json" },
      json: { data: { text: "hi" }, project: project.body.id },
    });
    expect(task.status, task.text).toBe(201);
    const one = await get(`/api/tasks/${task.body.id}/`, headers);
    expect(one.body.data).toEqual({ text: "hi" });
  });

  it("SDK 1.x legacy Client: /api/version at start, no trailing slashes, huge page_size", async () => {
    const headers = {
      authorization: `Token ${tenant.token}`,
      "user-agent": "python-requests/2.32.3",
    };
    const version = await get("/api/version", headers);
    expect(version.status).toBe(200);
    expect(typeof version.body.release).toBe("string");
    const project = await send(rest.base, "POST", "/api/projects", {
      headers,
      json: { title: "Legacy", label_config: TEXT_CONFIG, show_instruction: true },
    });
    expect(project.status, project.text).toBe(201);
    const params = await get(`/api/projects/${project.body.id}`, headers);
    expect(params.body.title).toBe("Legacy");
    const set = await send(rest.base, "PATCH", `/api/projects/${project.body.id}`, {
      headers,
      json: { sampling: "Uniform sampling" },
    });
    expect(set.status).toBe(200);
    const all = await get("/api/projects?page_size=10000000", headers);
    expect(all.status).toBe(200);
    expect(all.body.results).toHaveLength(1);
    expect((await get("/health", {})).body).toEqual({ status: "UP" });
  });
});

describe("token procedures (tRPC)", () => {
  it("create, list and revoke, with the same rules as REST", async () => {
    const caller = createCaller(
      createTRPCContext({ db: rest.tdb.db, headers: tenant.headers, secretKey: rest.secretKey }),
    );
    const key = await caller.token.create({ name: "script" });
    expect(Object.keys(key)).toEqual(["id", "name", "kind", "token", "created_at"]);
    expect(key.kind).toBe("key");
    const pat = await caller.token.create({ name: "sdk", kind: "pat" });
    expect(pat.token.split(".")).toHaveLength(3);
    const listed = await caller.token.list();
    expect(listed.map((t) => [t.name, t.kind, t.revoked_at])).toEqual([
      ["default", "key", null],
      ["script", "key", null],
      ["sdk", "pat", null],
    ]);
    expect(JSON.stringify(listed)).not.toContain(key.token);
    expect(await caller.token.revoke({ id: key.id })).toEqual({ id: key.id });
    expect401(
      await get("/api/projects/", { authorization: `Token ${key.token}` }),
      "Invalid token.",
    );
    expect((await caller.token.list()).find((t) => t.id === key.id)?.revoked_at).toBeInstanceOf(
      Date,
    );
    const stranger = await createTenant(rest.tdb.db);
    await expect(stranger.caller.token.revoke({ id: pat.id })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await expect(caller.token.create({ name: "" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    const withoutKey = createCaller(
      createTRPCContext({ db: rest.tdb.db, headers: tenant.headers }),
    );
    await expect(withoutKey.token.create({ name: "pat", kind: "pat" })).rejects.toMatchObject({
      code: "PRECONDITION_FAILED",
    });
  });
});
