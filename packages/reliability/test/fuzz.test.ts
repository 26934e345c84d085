import { request } from "node:http";
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
  existingIds.add(String(taskId)).add(String(project));
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
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      authorization: `Token ${token}`,
      ...headers,
    },
    body,
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/**
 * `send` with the path exactly as written: fetch resolves dot segments first (`/api/tasks/./`
 * would reach the server as `/api/tasks/`), node:http sends them as they are.
 */
async function sendRawPath(method: string, path: string, body?: string) {
  tried.requests += 1;
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      server.url,
      {
        method,
        path,
        headers: {
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          authorization: `Token ${token}`,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** What a rejection must leave as it was: every table a write path touches. */
/** A request with only `headers` as credentials (no API token). */
async function sendAs(
  headers: Record<string, string>,
  method: string,
  path: string,
  body?: string,
) {
  tried.requests += 1;
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

const existingIds = new Set<string>();

async function snapshot(): Promise<string> {
  const [row] =
    await sql`select count(*)::int as tasks, coalesce(max(updated_at)::text, '') as touched,
    (select last_inner_id from projects where id = ${project})::text as counter,
    (select count(*)::int from projects) as projects,
    (select coalesce(max(updated_at)::text, '') from projects) as projects_touched,
    (select count(*)::int from api_tokens) as tokens,
    (select count(*)::int from users) as users,
    (select count(*)::int from file_uploads) as uploads from tasks`;
  return JSON.stringify(row);
}

/** Counts only, for writes that may succeed: what one accepted write may add. */
async function counts(): Promise<{ tasks: number; projects: number; tokens: number }> {
  const [row] = await sql`select (select count(*)::int from tasks) as tasks,
    (select count(*)::int from projects) as projects,
    (select count(*)::int from api_tokens) as tokens`;
  return row as { tasks: number; projects: number; tokens: number };
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
          const counted = await counts();
          const res = await send("POST", "/api/tasks/", JSON.stringify(body));
          if (res.status === 201) {
            // Accepted: exactly one task more, and it is the one answered.
            expect(await counts()).toEqual({ ...counted, tasks: counted.tasks + 1 });
            expect((JSON.parse(res.text) as { project: number }).project).toBe(project);
            return;
          }
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
    const cases: [string, string, number][] = [
      ["deep", `{"data": {"text": "t", "deep": ${deep(5_000)}}, "project": ${project}}`, 400],
      [
        "very deep",
        `{"data": {"text": "t", "deep": ${deep(100_000)}}, "project": ${project}}`,
        413,
      ],
      [
        "deep proto",
        `{"data": {"text": "t", "deep": ${deep(40_000).replace('"x"', '{"__proto__": 1}')}}, "project": ${project}}`,
        400,
      ],
      ["huge number", `{"data": {"text": "t", "n": 1e400}, "project": ${project}}`, 400],
      [
        "long digits",
        `{"data": {"text": "t", "n": ${"9".repeat(5_000)}}, "project": ${project}}`,
        400,
      ],
      ["oversize", JSON.stringify({ data: { text: "x".repeat(300 * 1024) }, project }), 413],
      [
        // Within every limit: accepted, and exactly one task more.
        "many keys",
        JSON.stringify({
          data: {
            text: "t",
            ...Object.fromEntries(Array.from({ length: 12_000 }, (_, i) => [`k${i}`, i])),
          },
          project,
        }),
        201,
      ],
      ["invalid json", '{"data": {"text": "t"}, "project": ', 400],
      ["proto", `{"data": {"text": "t", "__proto__": {"x": 1}}, "project": ${project}}`, 400],
      ["nul", `{"data": {"text": "a\\u0000b"}, "project": ${project}}`, 400],
      ["lone surrogate", `{"data": {"text": "a\\ud800b"}, "project": ${project}}`, 400],
    ];
    for (const [name, body, status] of cases) {
      const before = await snapshot();
      const counted = await counts();
      const res = await send("POST", "/api/tasks/", body);
      expect(res.status, `${name}: ${res.text.slice(0, 200)}`).toBe(status);
      if (status === 201) {
        expect(await counts(), name).toEqual({ ...counted, tasks: counted.tasks + 1 });
        continue;
      }
      expectErrorBody(res);
      expect(await snapshot(), name).toBe(before);
    }
  });

  it("wrong content types and malformed or hostile headers are refused cleanly", async () => {
    const body = JSON.stringify({ data: { text: "t" }, project });
    // With valid credentials: the content type is what is wrong.
    const contentTypes: [string, number][] = [
      ["text/plain", 415],
      ["application/xml", 415],
    ];
    for (const [contentType, status] of contentTypes) {
      const before = await snapshot();
      const res = await send("POST", "/api/tasks/", body, { "content-type": contentType });
      expect(res.status, `${contentType}: ${res.text}`).toBe(status);
      expectErrorBody(res);
      expect(await snapshot(), contentType).toBe(before);
    }
    // Each hostile credential alone, with no valid one beside it: never read past, a 401.
    const credentials: Record<string, string>[] = [
      { authorization: "Token" },
      { authorization: "Token a b c" },
      { authorization: "Bearer not.a.jwt" },
      { authorization: "Bearer eyJhbGciOiJub25lIn0.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0." },
      { authorization: "Basic dXNlcjpwYXNz" },
      { authorization: `Token ${"x".repeat(8_000)}` },
      { "x-api-key": "' OR 1=1 --" },
      { cookie: "taskport_session=%00%ff; other=1" },
      { cookie: "taskport_session=%ff" },
      { cookie: `taskport_session=${"%".repeat(3_000)}` },
    ];
    for (const headers of credentials) {
      const before = await snapshot();
      const res = await sendAs(headers, "POST", "/api/tasks/", body);
      expect(res.status, `${JSON.stringify(headers).slice(0, 80)}: ${res.text}`).toBe(401);
      expectErrorBody(res);
      expect(await snapshot(), JSON.stringify(headers).slice(0, 80)).toBe(before);
    }
  });

  it("path traversal and SQL metacharacters in ids answer 404", async () => {
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
            ".",
            "..",
            "%2E",
          ),
          fc.string({ maxLength: 12 }).map(encodeURIComponent),
        ),
        fc.constantFrom("GET", "PATCH", "DELETE"),
        fc.constantFrom("tasks", "projects"),
        async (id, method, resource) => {
          // The seeded rows' own ids are not hostile: they are left out, not skipped.
          fc.pre(!existingIds.has(safeDecode(id)?.replace(/^0+(?=\d)/, "") ?? ""));
          const before = await snapshot();
          const res = await sendRawPath(
            method,
            `/api/${resource}/${id}/`,
            method === "PATCH" ? JSON.stringify({ data: { text: "p" } }) : undefined,
          );
          expect(res.status, `${method} ${resource}/${id}: ${res.text}`).toBe(404);
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

describe("generated input on every write path", () => {
  /** Never a 5xx; a refusal changes nothing; REST refusals have the error body. */
  async function check(
    what: string,
    request: () => Promise<{ status: number; text: string }>,
    rest: boolean,
  ) {
    const before = await snapshot();
    const res = await request();
    expect(res.status, `${what}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
    if (res.status >= 400) {
      if (rest) expectErrorBody(res);
      expect(await snapshot(), what).toBe(before);
    }
  }

  const trpc = (procedure: string, input: unknown) => () =>
    send("POST", `/api/trpc/${procedure}`, JSON.stringify({ json: input }));

  const item = fc.oneof(
    anyJson,
    fc.record({ data: fc.dictionary(hostileString, anyJson), meta: anyJson }, { requiredKeys: [] }),
    fc.record({ text: hostileString }),
  );
  const cell = hostileString.map((text) => text.replace(/[\r\n]/g, " "));

  it("imports in every format: JSON body, JSON, JSONL, CSV, TSV and TXT files", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(item, { maxLength: 4 }),
        fc.array(fc.tuple(cell, cell), { maxLength: 4 }),
        fc.constantFrom("body", "json", "jsonl", "csv", "tsv", "txt"),
        async (items, rows, format) => {
          const path = `/api/projects/${project}/import`;
          if (format === "body") {
            await check(`import body`, () => send("POST", path, JSON.stringify(items)), true);
            return;
          }
          const sep = format === "tsv" ? "\t" : ",";
          const quote = (v: string) =>
            format === "csv" ? `"${v.replace(/"/g, '""')}"` : v.replace(/\t/g, " ");
          const content =
            format === "json"
              ? JSON.stringify(items)
              : format === "jsonl"
                ? items.map((i) => JSON.stringify(i)).join("\n")
                : format === "txt"
                  ? rows.map(([a]) => a).join("\n")
                  : ["text", ...rows.map(([a, b]) => `${quote(a)}${sep}${quote(b)}`)].join("\n");
          const form = new FormData();
          form.append("file", new Blob([content]), `tasks.${format}`);
          await check(
            `import ${format}`,
            async () => {
              tried.requests += 1;
              const res = await fetch(`${server.url}${path}`, {
                method: "POST",
                headers: { authorization: `Token ${token}` },
                body: form,
              });
              return { status: res.status, text: await res.text() };
            },
            true,
          );
        },
      ),
      { numRuns: 120 },
    );
  });

  it("project and token bodies over REST", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            title: fc.oneof(hostileString, anyJson),
            description: fc.oneof(hostileString, anyJson),
            label_config: fc.oneof(
              hostileString,
              hostileString.map((t) => `<View><Text name="t" value="$${t}"/></View>`),
            ),
            expert_instruction: hostileString,
            color: hostileString,
            control_weights: anyJson,
          },
          { requiredKeys: [] },
        ),
        fc.record({ name: fc.oneof(hostileString, anyJson), kind: anyJson }, { requiredKeys: [] }),
        async (projectBody, tokenBody) => {
          await check(
            "project create",
            () => send("POST", "/api/projects/", JSON.stringify(projectBody)),
            true,
          );
          await check(
            "project update",
            () => send("PATCH", `/api/projects/${project}/`, JSON.stringify(projectBody)),
            true,
          );
          await check(
            "token create",
            () => send("POST", "/api/tokens/", JSON.stringify(tokenBody)),
            true,
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it("tRPC procedures: task.create, task.import, project.create and update, token.create", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc
            .record({
              data: fc.dictionary(hostileString, anyJson),
              project: fc.oneof(fc.constant(project), anyJson),
            })
            .map((input) => ["task.create", input] as const),
          fc
            .record({ project: fc.constant(project), items: fc.array(item, { maxLength: 4 }) })
            .map((input) => ["task.import", input] as const),
          fc
            .record(
              { title: hostileString, description: hostileString, label_config: hostileString },
              { requiredKeys: [] },
            )
            .map((input) => ["project.create", input] as const),
          fc
            .record(
              { id: fc.constant(project), title: hostileString, description: hostileString },
              { requiredKeys: ["id"] },
            )
            .map((input) => ["project.update", input] as const),
          fc.record({ name: hostileString }).map((input) => ["token.create", input] as const),
        ),
        async ([procedure, input]) => {
          await check(procedure, trpc(procedure, input), false);
        },
      ),
      { numRuns: 200 },
    );
  });
});
