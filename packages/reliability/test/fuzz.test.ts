import fc from "fast-check";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "./support/database";
import { seedTenant } from "./support/seed";
import { startTaskport, type TaskportProcess } from "./support/server";

/**
 * Generated bad input against a running server: never a 5xx, always the documented error body,
 * and the database unchanged by every rejection.
 */
let database: Awaited<ReturnType<typeof createDatabase>>;
let server: TaskportProcess;
let sql: postgres.Sql;
let token: string;
let project: number;
let taskId: number;
const tried = { requests: 0 };

beforeAll(async () => {
  database = await createDatabase();
  ({
    token,
    projectIds: [project = 0],
  } = await seedTenant(database.url));
  server = await startTaskport({
    DATABASE_URL: database.url,
    TASKPORT_MAX_BODY_BYTES: String(256 * 1024),
  });
  sql = postgres(database.url, { max: 1, onnotice: () => {} });
  const res = await send(
    "POST",
    "/api/tasks/",
    JSON.stringify({ data: { text: "seed" }, project }),
  );
  taskId = (JSON.parse(res.text) as { id: number }).id;
});
afterAll(async () => {
  await sql?.end();
  await server?.kill("SIGKILL");
  await database?.drop();
  console.log(`[fuzz] ${tried.requests} generated requests`);
});

async function send(
  method: string,
  path: string,
  body?: string | Uint8Array,
  headers: Record<string, string> = {},
) {
  tried.requests += 1;
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { "content-type": "application/json", authorization: `Token ${token}`, ...headers },
    body,
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function snapshot(): Promise<string> {
  const [row] =
    await sql`select count(*)::int as tasks, coalesce(max(updated_at)::text, '') as touched,
    (select last_inner_id from projects where id = ${project})::text as counter from tasks`;
  return JSON.stringify(row);
}

/** Every error answer has Label Studio's error body and no internals. */
function expectErrorBody(res: { status: number; text: string }) {
  expect(res.status, res.text).toBeLessThan(500);
  expect(res.status).toBeGreaterThanOrEqual(400);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(Object.keys(body).slice(0, 5)).toEqual([
    "id",
    "status_code",
    "version",
    "detail",
    "exc_info",
  ]);
  expect(body.status_code).toBe(res.status);
  expect(body.exc_info).toBeNull();
  expect(res.text).not.toMatch(/node_modules|\.ts:\d+|at async|postgres|drizzle/i);
}

const hostileString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "\u0000",
    "a\u0000b",
    "\ud800",
    "x\udfffy",
    "'; drop table tasks; --",
    "../../etc/passwd",
    "%00",
  ),
);
const anyJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.constantFrom(1e308, -0, 2 ** 53 + 1),
    hostileString,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(hostileString, tie("value"), { maxKeys: 4 }),
  ),
})).value;

describe("generated bad input", () => {
  it("random bodies and data for POST /api/tasks/ never get a 5xx; rejections change nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          anyJson,
          fc.record(
            { data: anyJson, project: fc.oneof(fc.constant(project), anyJson) },
            { requiredKeys: [] },
          ),
          fc.record({
            data: fc.dictionary(hostileString, anyJson),
            project: fc.constant(project),
            meta: anyJson,
          }),
        ),
        async (body) => {
          const before = await snapshot();
          const res = await send("POST", "/api/tasks/", JSON.stringify(body));
          if (res.status === 201) return;
          expectErrorBody(res);
          expect(await snapshot()).toBe(before);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("deep nesting, huge strings and numbers, and oversize bodies get a clear 4xx", async () => {
    // Built as text: JSON.stringify itself would overflow the stack at this depth.
    const deep = (n: number) => `${'{"a":'.repeat(n)}"x"${"}".repeat(n)}`;
    const cases: [string, string][] = [
      ["deep", `{"data": {"text": "t", "deep": ${deep(5_000)}}, "project": ${project}}`],
      ["very deep", `{"data": {"text": "t", "deep": ${deep(100_000)}}, "project": ${project}}`],
      [
        "deep proto",
        `{"data": {"text": "t", "deep": ${deep(50_000).replace('"x"', '{"__proto__": 1}')}}, "project": ${project}}`,
      ],
      ["huge number", `{"data": {"text": "t", "n": 1e400}, "project": ${project}}`],
      ["long digits", `{"data": {"text": "t", "n": ${"9".repeat(5_000)}}, "project": ${project}}`],
      ["oversize", JSON.stringify({ data: { text: "x".repeat(300 * 1024) }, project })],
      [
        "many keys",
        JSON.stringify({
          data: Object.fromEntries(Array.from({ length: 12_000 }, (_, i) => [`k${i}`, i])),
          project,
        }),
      ],
      ["invalid json", '{"data": {"text": "t"}, "project": '],
      ["proto", `{"data": {"text": "t", "__proto__": {"x": 1}}, "project": ${project}}`],
    ];
    for (const [name, body] of cases) {
      const before = await snapshot();
      const res = await send("POST", "/api/tasks/", body);
      if (res.status === 201) continue;
      expect(res.status, name).toBeGreaterThanOrEqual(400);
      expectErrorBody(res);
      expect(await snapshot(), name).toBe(before);
    }
  });

  it("wrong content types and malformed or hostile headers are refused cleanly", async () => {
    const body = JSON.stringify({ data: { text: "t" }, project });
    const cases: Record<string, string>[] = [
      { "content-type": "text/plain" },
      { "content-type": "application/xml" },
      { "content-type": "application/json; charset=latin1" },
      { authorization: "Token" },
      { authorization: "Token a b c" },
      { authorization: "Bearer not.a.jwt" },
      { authorization: "Bearer eyJhbGciOiJub25lIn0.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0." },
      { authorization: "Basic dXNlcjpwYXNz" },
      { authorization: `Token ${"x".repeat(8_000)}` },
      { "x-api-key": "' OR 1=1 --" },
      { cookie: "taskport_session=%00%ff; other=1" },
    ];
    for (const headers of cases) {
      const before = await snapshot();
      const res = await send("POST", "/api/tasks/", body, headers);
      if (res.status === 201) continue;
      expectErrorBody(res);
      expect(await snapshot(), JSON.stringify(headers)).toBe(before);
    }
  });

  it("path traversal and SQL metacharacters in ids answer 404 or 400", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom(
            "..%2F..%2Fetc%2Fpasswd",
            "1;DROP%20TABLE%20tasks",
            "'%20OR%201=1--",
            "99999999999999999999",
            "-1",
            "0x10",
            "1e3",
            "%00",
            "NaN",
          ),
          fc.string({ maxLength: 12 }).map(encodeURIComponent),
        ),
        fc.constantFrom("GET", "PATCH", "DELETE"),
        fc.constantFrom("tasks", "projects"),
        async (id, method, resource) => {
          const before = await snapshot();
          const res = await send(
            method,
            `/api/${resource}/${id}/`,
            method === "PATCH" ? JSON.stringify({ data: { text: "p" } }) : undefined,
          );
          if (res.status < 300) return;
          expectErrorBody(res);
          expect(await snapshot()).toBe(before);
        },
      ),
      { numRuns: 150 },
    );
    // The seeded task survived all of it.
    expect((await send("GET", `/api/tasks/${taskId}/`)).status).toBe(200);
  });
});
