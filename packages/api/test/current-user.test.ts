/**
 * What scripts call to find themselves, as Label Studio answers: whoami (and
 * `/api/current-user/`), the legacy key endpoints, the personal access token endpoints under
 * `/api/token/`, and `/api/version`, field by field.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RestServer, send, startRestServer } from "./rest/server";
import { createTenant } from "./support/fixtures";

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

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

const call = (
  method: string,
  path: string,
  headers: Record<string, string> = tenant.headers,
  json?: unknown,
) => send(rest.base, method, path, { headers, json });

describe("GET /api/current-user/whoami", () => {
  it("answers the caller in Label Studio's shape, at both paths", async () => {
    const answer = await call("GET", "/api/current-user/whoami");
    expect(answer.status, answer.text).toBe(200);
    const email = tenant.user.email;
    expect(Object.keys(answer.body)).toEqual([
      "id",
      "first_name",
      "last_name",
      "username",
      "email",
      "last_activity",
      "custom_hotkeys",
      "avatar",
      "initials",
      "phone",
      "active_organization",
      "active_organization_meta",
      "allow_newsletters",
      "date_joined",
      "permissions",
    ]);
    expect(answer.body).toEqual({
      id: tenant.user.id,
      first_name: "",
      last_name: "",
      username: email.split("@")[0],
      email,
      last_activity: expect.stringMatching(ISO_UTC),
      custom_hotkeys: {},
      avatar: null,
      initials: email.slice(0, 2),
      phone: "",
      active_organization: tenant.user.organizationId,
      active_organization_meta: { title: email, email },
      allow_newsletters: null,
      date_joined: expect.stringMatching(ISO_UTC),
      permissions: expect.arrayContaining(["projects.view", "tasks.create"]),
    });
    const other = await call("GET", "/api/current-user/");
    expect(other.status).toBe(200);
    expect({ ...other.body, last_activity: null }).toEqual({
      ...answer.body,
      last_activity: null,
    });
    expect((await call("GET", "/api/current-user/whoami", {})).status).toBe(401);
  });
});

describe("legacy keys", () => {
  it("GET /api/current-user/token reads back the key the caller presents, never another", async () => {
    const answer = await call("GET", "/api/current-user/token");
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toEqual({ token: tenant.token });
    const viaHeader = await call("GET", "/api/current-user/token", { "x-api-key": tenant.token });
    expect(viaHeader.body).toEqual({ token: tenant.token });
    // A session or an access JWT does not hold a key: there is none to show.
    const pat = await call("POST", "/api/token/");
    const access = await send(rest.base, "POST", "/api/token/refresh/", {
      json: { refresh: pat.body.token },
    });
    const bearer = await call("GET", "/api/current-user/token", {
      authorization: `Bearer ${access.body.access}`,
    });
    expect(bearer.status).toBe(404);
    expect(bearer.body.detail).toMatch(/only when it is created/);
  });

  it("POST /api/current-user/reset-token/ gives a new key and ends the one presented", async () => {
    const answer = await call("POST", "/api/current-user/reset-token/");
    expect(answer.status, answer.text).toBe(201);
    expect(Object.keys(answer.body)).toEqual(["token"]);
    expect(answer.body.token).not.toBe(tenant.token);
    expect((await call("GET", "/api/projects/")).status).toBe(401);
    const fresh = { authorization: `Token ${answer.body.token}` };
    expect((await call("GET", "/api/projects/", fresh)).status).toBe(200);
  });
});

describe("/api/token/ (personal access tokens)", () => {
  it("creates one token, refuses a second with 409, lists, rotates and blacklists", async () => {
    const created = await call("POST", "/api/token/");
    expect(created.status, created.text).toBe(201);
    expect(Object.keys(created.body)).toEqual(["token"]);
    const refresh = created.body.token as string;
    expect(refresh.split(".")).toHaveLength(3);

    const again = await call("POST", "/api/token/");
    expect(again.status).toBe(409);
    expect(again.body.detail).toBe(
      "You already have a valid token. Please revoke it before creating a new one.",
    );

    const listed = await call("GET", "/api/token/");
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([
      {
        token: expect.any(String),
        created_at: expect.stringMatching(ISO_UTC),
        expires_at: expect.stringMatching(ISO_UTC),
      },
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(refresh);

    const rotated = await call("POST", "/api/token/rotate/", tenant.headers, { refresh });
    expect(rotated.status, rotated.text).toBe(200);
    expect(Object.keys(rotated.body)).toEqual(["refresh"]);
    const refused = await send(rest.base, "POST", "/api/token/refresh/", { json: { refresh } });
    expect(refused.status).toBe(401);
    const next = rotated.body.refresh as string;
    expect(
      (await send(rest.base, "POST", "/api/token/refresh/", { json: { refresh: next } })).status,
    ).toBe(200);

    const blacklisted = await send(rest.base, "POST", "/api/token/blacklist/", {
      json: { refresh: next },
    });
    expect(blacklisted.status, blacklisted.text).toBe(204);
    const twice = await send(rest.base, "POST", "/api/token/blacklist/", {
      json: { refresh: next },
    });
    expect(twice.status).toBe(404);
    expect(twice.body.detail).toBe("Token is invalid or already blacklisted.");
    expect((await call("GET", "/api/token/")).body).toEqual([]);
    // With no live token left, a new one may be created.
    expect((await call("POST", "/api/token/")).status).toBe(201);
  });
});

describe("GET /api/version", () => {
  it("answers Label Studio's version document without credentials", async () => {
    for (const path of ["/api/version", "/api/version/"]) {
      const answer = await send(rest.base, "GET", path);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        release: expect.any(String),
        "label-studio-os-package": {
          version: answer.body.release,
          short_version: expect.any(String),
          latest_version_from_pypi: null,
          latest_version_upload_time: null,
          current_version_is_outdated: false,
        },
        "label-studio-os-backend": { version: answer.body.release },
        "label-studio-frontend": expect.any(Object),
        dm2: expect.any(Object),
        "label-studio-converter": expect.any(Object),
        lsf: expect.any(Object),
        backend: expect.any(Object),
        edition: "Community",
      });
    }
  });
});
