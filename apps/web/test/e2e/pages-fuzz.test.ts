/**
 * Generated hostile input against the pages of the built app (the API has its own fuzzer): the
 * login and sign-up forms posted as a browser without JavaScript does, with odd field values,
 * bytes, encodings, boundaries and action fields, and server action headers; the pages with
 * dynamic segments under odd ids, query strings and session cookies. Never a 5xx, never the
 * server's internals in the body, the status the app defines, and no user, organization or
 * session made by a refusal. A server of its own, so that the database can be read when it stops.
 */
import { request } from "node:http";
import { createPgliteDb, schema } from "@taskport/api/db";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unescapeHtml } from "./html";
import { ADMIN, type RunningServer, startServer } from "./server";

// Above Next.js's own 1 MB bound on a server action's body, so that both refusals are reached.
const MAX_BODY_BYTES = 2 * 1024 * 1024;
let server: RunningServer;
/** The hidden fields React rendered into each form (the action's reference and state). */
const actionFields = new Map<"login" | "signup", [string, string][]>();
let adminCookie = "";
const made = { users: 0, sessions: 0 };
const tried = { requests: 0 };

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One request with exactly these bytes and headers (fetch would normalise both). */
function send(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Uint8Array,
): Promise<Answer> {
  tried.requests += 1;
  const url = new URL(server.baseURL);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { ...headers, ...(body ? { "content-length": String(body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function hiddenFields(page: string): Promise<[string, string][]> {
  const res = await send("GET", page);
  expect(res.status).toBe(200);
  const form = /<form[^>]*>([\s\S]*?)<\/form>/.exec(res.text)?.[1] ?? "";
  const fields: [string, string][] = [];
  for (const [, attributes = ""] of form.matchAll(/<input([^>]*)>/g)) {
    const name = /name="([^"]*)"/.exec(attributes)?.[1];
    if (name?.startsWith("$ACTION"))
      fields.push([
        unescapeHtml(name),
        unescapeHtml(/value="([^"]*)"/.exec(attributes)?.[1] ?? ""),
      ]);
  }
  expect(fields.length).toBeGreaterThan(0);
  return fields;
}

type Value = string | Uint8Array;
const utf8 = new TextEncoder();
const bytesOf = (value: Value) => (typeof value === "string" ? utf8.encode(value) : value);

function multipart(fields: [string, Value][], boundary: string): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, value] of fields) {
    parts.push(
      utf8.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`),
      bytesOf(value),
      utf8.encode("\r\n"),
    );
  }
  parts.push(utf8.encode(`--${boundary}--\r\n`));
  return Buffer.concat(parts);
}

function urlencoded(fields: [string, Value][]): Uint8Array {
  const percent = (value: Value) =>
    Array.from(bytesOf(value), (b) => `%${b.toString(16).padStart(2, "0")}`).join("");
  return utf8.encode(fields.map(([n, v]) => `${percent(n)}=${percent(v)}`).join("&"));
}

/** Field values a hostile client sends: control characters, lone surrogates, bad bytes, size. */
const hostileText = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "a\u0000b@example.com",
    "\ud800",
    "x\udfffy@example.com",
    "admin@example.com",
    ADMIN.password,
    "ADMIN@EXAMPLE.COM ",
    "%00",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "$@1",
    "[]",
    "null",
    "x".repeat(300),
    "y".repeat(20_000),
  ),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.emailAddress(),
);
const hostileValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 4, arbitrary: hostileText },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.constantFrom(
        Uint8Array.of(0xff, 0xfe),
        Uint8Array.of(0xc3, 0x28),
        Uint8Array.of(0xed, 0xa0, 0x80),
        Uint8Array.of(0x61, 0x00, 0x62),
      ),
    ),
  },
);

/** The form's own fields, each left out, sent once, or sent twice. */
const formFields = fc
  .record({
    mode: fc.constantFrom("login" as const, "signup" as const),
    email: fc.option(hostileValue, { nil: undefined }),
    password: fc.option(hostileValue, { nil: undefined }),
    organization: fc.option(hostileValue, { nil: undefined }),
    next: fc.option(hostileValue, { nil: undefined }),
    duplicate: fc.option(fc.constantFrom("email", "password", "next"), { nil: undefined }),
    extra: fc.array(fc.tuple(fc.string({ maxLength: 10 }), hostileValue), { maxLength: 2 }),
    encoding: fc.constantFrom("multipart" as const, "urlencoded" as const),
    boundary: fc.constantFrom("----taskport", "b", "a", "x".repeat(70), "'()+_,-./:=?"),
    action: fc.constantFrom(
      "intact" as const,
      "intact" as const,
      "dropped" as const,
      "state" as const,
      "reference" as const,
      "header" as const,
      "reply" as const,
    ),
    garbage: fc.constantFrom("", "garbage", "{}", "[", "$@1", '{"id":1}', "\u0000"),
  })
  .map((form) => {
    const own: [string, Value][] = [];
    for (const name of ["email", "password", "organization", "next"] as const) {
      const value = form[name];
      if (value !== undefined) own.push([name, value]);
      if (value !== undefined && form.duplicate === name) own.push([name, value]);
    }
    return { ...form, own: [...own, ...form.extra.filter(([name]) => !name.startsWith("$"))] };
  });

/** Segments for `/projects/<id>` and `/projects/<id>/tasks/<id>` that are no ids. */
const hostileSegment = fc.oneof(
  fc.constantFrom(
    "-1",
    "0",
    "1e3",
    "1.5",
    "0x10",
    "%00",
    "..%2F",
    "123456789012345678901234567890",
    "2147483648",
    "99999999999",
    "+1",
    "%20",
    "%ff",
    "%",
    "%c3%28",
    "%ed%a0%80",
    "1%00",
    "null",
    "undefined",
    "NaN",
    "Infinity",
  ),
  fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{1,12}$/).filter((s) => s !== "." && s !== ".."),
);
const hostileQuery = fc.oneof(
  fc.constantFrom("", "?", "?%", "?%ff=1", "?next=%00", "?next=//evil.example", "?a=1&a=2", "?=&="),
  fc.stringMatching(/^\?[A-Za-z0-9%=&._~+-]{0,30}$/),
);
/** Cookie headers: what node:http lets through (no control characters). */
const hostileCookie = fc.oneof(
  fc.constantFrom(
    "taskport_session=",
    "taskport_session=%ff",
    "taskport_session=%00",
    "taskport_session=a; taskport_session=b",
    "taskport_session",
    "=",
    ";;;",
    `taskport_session=${"z".repeat(4000)}`,
  ),
  fc.stringMatching(/^[\x20-\x7e]{0,60}$/).map((value) => `taskport_session=${value}`),
);

/** A 5xx, a stack trace or a path of this machine in an answer is a defect. */
function expectNoInternals(res: Answer, what: string) {
  expect(res.status, what).toBeLessThan(500);
  expect(res.text, what).not.toMatch(
    /\n\s+at \S+ \(|node_modules|\/work\/|webpack-internal|\.tsx?:\d+:\d+/,
  );
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function sessionCookieSet(res: Answer): boolean {
  const cookies = res.headers["set-cookie"] ?? [];
  return (Array.isArray(cookies) ? cookies : [cookies]).some((c) =>
    /^taskport_session=[^;]+/.test(c),
  );
}

beforeAll(async () => {
  server = await startServer({ TASKPORT_MAX_BODY_BYTES: String(MAX_BODY_BYTES) });
  actionFields.set("login", await hiddenFields("/login"));
  actionFields.set("signup", await hiddenFields("/signup"));
  const login = await send(
    "POST",
    "/login",
    { "content-type": "multipart/form-data; boundary=----taskport" },
    multipart(
      [...(actionFields.get("login") ?? []), ["email", ADMIN.email], ["password", ADMIN.password]],
      "----taskport",
    ),
  );
  expect(login.status).toBe(303);
  made.sessions += 1;
  const cookies = login.headers["set-cookie"] ?? [];
  adminCookie =
    (Array.isArray(cookies) ? cookies : [cookies])
      .find((c) => c.startsWith("taskport_session="))
      ?.split(";")[0] ?? "";
  expect(adminCookie).not.toBe("");
}, 120_000);

afterAll(async () => {
  await server?.stop();
  server?.remove();
  console.log(`[pages fuzz] ${tried.requests} generated requests`);
});

describe("the pages under generated hostile input", () => {
  it("the login and sign-up forms refuse bad fields with the form and an error, and nothing else", async () => {
    await fc.assert(
      fc.asyncProperty(formFields, async (form) => {
        const action = (actionFields.get(form.mode) ?? [])
          .filter(() => form.action !== "dropped")
          .map(([name, value]): [string, Value] => {
            if (form.action === "state" && /^\$ACTION_\d+:1$/.test(name))
              return [name, form.garbage];
            if (form.action === "reference" && /^\$ACTION_\d+:0$/.test(name))
              return [name, form.garbage];
            return [name, value];
          });
        const headers: Record<string, string> = {};
        if (form.action === "header") headers["next-action"] = `zz${form.garbage.length}`;
        if (form.action === "reply") {
          // A reply that is not JSON to the form's real action, as JavaScript would post it.
          const reference = action.find(([name]) => /^\$ACTION_\d+:0$/.test(name))?.[1];
          headers["next-action"] = (JSON.parse(String(reference)) as { id: string }).id;
          headers["content-type"] = "text/plain;charset=UTF-8";
        }
        const fields = [...action, ...form.own];
        const body =
          form.action === "reply"
            ? utf8.encode(`garbage${form.garbage}`)
            : form.encoding === "multipart"
              ? multipart(fields, form.boundary)
              : urlencoded(fields);
        headers["content-type"] ??=
          form.encoding === "multipart"
            ? `multipart/form-data; boundary=${form.boundary}`
            : "application/x-www-form-urlencoded";
        const res = await send("POST", `/${form.mode}`, headers, body);
        const what = JSON.stringify(form).slice(0, 500);
        expectNoInternals(res, what);
        if (res.status !== 303) expect(sessionCookieSet(res), what).toBe(false);
        if (form.action === "reply") {
          // A reply that is not JSON.
          expect(res.status, what).toBe(400);
          return;
        }
        if (form.encoding === "urlencoded") {
          // Not how React posts a form: the page is shown again and nothing is done; with an
          // action named in the header, a reply that is not JSON.
          expect(res.status, what).toBe(form.action === "header" ? 400 : 200);
          return;
        }
        if (form.action !== "intact" && form.action !== "dropped") {
          // Bound arguments or a reference that are not JSON, an action id that names none:
          // refused. The previous state is not read (200 or 303 when it is JSON, unless the
          // multipart body itself is refused); a JSON reference to no action is refused by
          // Next.js (400, or 409 for a missing id).
          const json = form.garbage !== "" && parsesAsJson(form.garbage);
          const expected =
            form.action === "state" && json
              ? [200, 303, 400]
              : form.action === "reference" && json
                ? [400, 409]
                : [400];
          expect(expected, what).toContain(res.status);
          if (res.status === 303) made.sessions += 1;
          return;
        }
        if (form.action === "dropped") {
          // No action: the page is shown again and nothing is done.
          expect([200, 400], what).toContain(res.status);
          return;
        }
        // The form comes back with an error (200), or the user is in (303 with a session); a
        // body that is no multipart form (odd field names, boundaries) is refused (400).
        expect([200, 303, 400], what).toContain(res.status);
        if (res.status === 303) {
          expect(sessionCookieSet(res), what).toBe(true);
          made.sessions += 1;
          if (form.mode === "signup") made.users += 1;
        } else if (res.status === 200) {
          expect(res.text, what).toMatch(/role="alert"|<form/);
        }
      }),
      { numRuns: 150, seed: 20261130, endOnFailure: true },
    );
  });

  it("a form posted from another site, or with an Origin that is no URL, is refused", async () => {
    for (const origin of ["http://evil.example", "zz", "http://127.0.0.1:1"]) {
      const res = await send(
        "POST",
        "/login",
        { origin, "content-type": "multipart/form-data; boundary=----taskport" },
        multipart([...(actionFields.get("login") ?? []), ["email", ADMIN.email]], "----taskport"),
      );
      expect(res.status, origin).toBe(403);
    }
  });

  it("a page with a hostile id, query string or session cookie is a 404, a 400 or the login page", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("project", "task", "edit", "import", "storages", "webhooks"),
        hostileSegment,
        hostileQuery,
        fc.option(hostileCookie, { nil: undefined }),
        async (page, segment, query, cookie) => {
          const path =
            page === "project"
              ? `/projects/${segment}`
              : page === "task"
                ? `/projects/${segment}/tasks/${segment}`
                : `/projects/${segment}/${page}`;
          const loggedIn = cookie === undefined;
          const res = await send("GET", `${path}${query}`, {
            cookie: loggedIn ? adminCookie : cookie,
          });
          const what = JSON.stringify({ path, query, cookie: cookie?.slice(0, 80) });
          expectNoInternals(res, what);
          let decodes = true;
          try {
            decodeURIComponent(segment);
          } catch {
            decodes = false;
          }
          if (!decodes) expect(res.status, what).toBe(400);
          else if (loggedIn) expect(res.status, what).toBe(404);
          else {
            expect(res.status, what).toBe(307);
            expect(res.headers.location, what).toMatch(/^\/login\?next=/);
          }
        },
      ),
      { numRuns: 150, seed: 20261130, endOnFailure: true },
    );
  });

  it("the login page takes any query string and session cookie", async () => {
    await fc.assert(
      fc.asyncProperty(hostileQuery, hostileCookie, async (query, cookie) => {
        const res = await send("GET", `/login${query}`, { cookie });
        expectNoInternals(res, JSON.stringify({ query, cookie: cookie.slice(0, 80) }));
        expect(res.status).toBe(200);
      }),
      { numRuns: 40, seed: 20261130, endOnFailure: true },
    );
  });

  it("a form over Next.js's bound on an action's body, under the server's, is a 413", async () => {
    const fields: [string, Value][] = [
      ...(actionFields.get("login") ?? []),
      ["email", ADMIN.email],
      ["password", "p".repeat(1024 * 1024 + 1)],
    ];
    const res = await send(
      "POST",
      "/login",
      { "content-type": "multipart/form-data; boundary=----taskport" },
      multipart(fields, "----taskport"),
    );
    expectNoInternals(res, "oversize field");
    expect(res.status).toBe(413);
  });

  it("a body over the limit is refused before it is read", async () => {
    // Only the headers are sent: the answer must come before any of the body.
    const url = new URL(server.baseURL);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          method: "POST",
          path: "/login",
          headers: {
            "content-type": "multipart/form-data; boundary=----taskport",
            "content-length": String(MAX_BODY_BYTES + 1),
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on("error", reject);
      req.flushHeaders();
    });
    expect(status).toBe(413);
  });

  it("no user, organization or session was made but by the forms that succeeded", async () => {
    await server.stop();
    const db = await createPgliteDb(`${server.dataDir}/pglite`);
    try {
      expect(await db.$count(schema.users)).toBe(1 + made.users);
      expect(await db.$count(schema.organizations)).toBe(1 + made.users);
      expect(await db.$count(schema.sessions)).toBe(made.sessions);
    } finally {
      await db.$close();
    }
  });
});
