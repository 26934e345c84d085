/**
 * One cross-site rule for every change made with the session cookie, REST and tRPC alike: a
 * browser request from another origin (another site, or another port of this host) is refused
 * with 403; the same request from the app's own origin, or with a token, goes through.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSession } from "../src/auth/session";
import {
  type ApiServer,
  createTenant,
  createTestDatabase,
  startApiServer,
  type TestDatabase,
} from "./support";

let tdb: TestDatabase;
let server: ApiServer;
let cookie: string;
let token: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  server = await startApiServer({ db: tdb.db });
  const tenant = await createTenant(tdb.db);
  token = tenant.token;
  cookie = `taskport_session=${(await createSession(tdb.db, tenant.user.id)).secret}`;
});
afterAll(async () => {
  await server?.close();
  await tdb?.close();
});

const otherPort = () => {
  const url = new URL(server.base);
  url.port = String(Number(url.port) + 1);
  return url.origin;
};

const HOSTILE = (): Record<string, string>[] => [
  { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
  { origin: "https://evil.example" },
  { "sec-fetch-site": "cross-site" },
  { "sec-fetch-site": "same-site" },
  // Another port of the same host is another origin, though the same site.
  { origin: otherPort(), "sec-fetch-site": "same-site" },
  { origin: otherPort() },
  { origin: "null" },
];

const createProject = (path: "rest" | "trpc", headers: Record<string, string>) =>
  path === "rest"
    ? fetch(`${server.base}/api/projects/`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ title: "Forged" }),
      })
    : fetch(`${server.base}/api/trpc/project.create`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ json: { title: "Forged" } }),
      });

describe("a change made with the session cookie", () => {
  for (const path of ["rest", "trpc"] as const) {
    it(`is refused from another origin (${path})`, async () => {
      for (const headers of HOSTILE()) {
        const res = await createProject(path, { cookie, ...headers });
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(403);
        expect(await res.text()).toMatch(
          /CSRF Failed: a session cookie cannot be used from another site/,
        );
      }
    });

    it(`goes through from the app's own origin, and with a token from anywhere (${path})`, async () => {
      const own = await createProject(path, {
        cookie,
        origin: server.base,
        "sec-fetch-site": "same-origin",
      });
      expect(own.status).toBe(path === "rest" ? 201 : 200);
      const noHeaders = await createProject(path, { cookie });
      expect(noHeaders.status).toBe(path === "rest" ? 201 : 200);
      const withToken = await createProject(path, {
        authorization: `Token ${token}`,
        origin: "https://evil.example",
        "sec-fetch-site": "cross-site",
      });
      expect(withToken.status).toBe(path === "rest" ? 201 : 200);
    });
  }

  it("a tRPC batch of mutations is refused whole", async () => {
    const res = await fetch(`${server.base}/api/trpc/project.create,project.create?batch=1`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie, origin: "https://evil.example" },
      body: JSON.stringify({
        0: { json: { title: "Batch A" } },
        1: { json: { title: "Batch B" } },
      }),
    });
    const answers = (await res.json()) as { error?: { json: { data: { httpStatus: number } } } }[];
    expect(answers.map((a) => a.error?.json.data.httpStatus)).toEqual([403, 403]);
  });
});
