/**
 * Label Studio's REST API over real HTTP: every endpoint's success status and key order, each
 * documented error with its exact body, bodies of every kind, paging to the 404, organization
 * scoping, and a script written for Label Studio run end to end.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import packageJson from "../package.json" with { type: "json" };
import { createPostgresDb } from "../src/db";
import { DATABASE_UNAVAILABLE } from "../src/errors";
import {
  type Answer,
  ERROR_KEYS,
  PROJECT_KEYS,
  type RestServer,
  send,
  startRestServer,
  TASK_DETAIL_KEYS,
  TASK_KEYS,
  TASK_LIST_KEYS,
  VALIDATION_KEYS,
} from "./rest/server";
import { createTenant } from "./support/fixtures";
import { freePort, startApiServer } from "./support/server";

const MAX_BODY = 64 * 1024;
const TEXT_CONFIG = '<View><Text name="text" value="$text"/></View>';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let rest: RestServer;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let auth: Record<string, string>;

beforeAll(async () => {
  rest = await startRestServer(MAX_BODY);
});
afterAll(async () => {
  await rest?.close();
});
beforeEach(async () => {
  await rest.tdb.truncate();
  tenant = await createTenant(rest.tdb.db);
  auth = { authorization: `Token ${tenant.token}` };
});

const call = (method: string, path: string, options: Parameters<typeof send>[3] = {}) =>
  send(rest.base, method, path, { ...options, headers: { ...auth, ...options.headers } });

/** The contract's error body, exactly: keys in order, a fresh uuid, this version. */
function expectError(
  answer: Answer,
  status: number,
  detail: string | RegExp,
  validationErrors?: Record<string, (string | RegExp)[]>,
) {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
  expect(Object.keys(answer.body)).toEqual(validationErrors ? VALIDATION_KEYS : ERROR_KEYS);
  expect(answer.body.id).toMatch(UUID);
  expect(answer.body).toMatchObject({
    status_code: status,
    version: packageJson.version,
    exc_info: null,
  });
  if (typeof detail === "string") expect(answer.body.detail).toBe(detail);
  else expect(answer.body.detail).toMatch(detail);
  if (validationErrors) {
    expect(Object.keys(answer.body.validation_errors).sort()).toEqual(
      Object.keys(validationErrors).sort(),
    );
    for (const [field, messages] of Object.entries(validationErrors)) {
      expect(answer.body.validation_errors[field]).toHaveLength(messages.length);
      messages.forEach((message, i) => {
        const actual = answer.body.validation_errors[field][i];
        if (typeof message === "string") expect(actual).toBe(message);
        else expect(actual).toMatch(message);
      });
    }
  }
  expect(answer.text).not.toMatch(/\.ts:\d+|at [\w.]+ \(/);
}

async function createProject(fields: Record<string, unknown> = {}) {
  const answer = await call("POST", "/api/projects/", {
    json: { title: "Reviews", label_config: TEXT_CONFIG, ...fields },
  });
  expect(answer.status, answer.text).toBe(201);
  return answer.body as { id: number; [key: string]: unknown };
}

async function createTask(project: number, data: Record<string, unknown> = { text: "hi" }) {
  const answer = await call("POST", "/api/tasks/", { json: { data, project } });
  expect(answer.status, answer.text).toBe(201);
  return answer.body as { id: number; inner_id: number; [key: string]: unknown };
}

describe("POST /api/tasks/", () => {
  it("creates a task: 201, the 18 keys in order, ISO-8601 UTC timestamps", async () => {
    const project = await createProject({ maximum_annotations: 2 });
    for (const path of ["/api/tasks/", "/api/tasks"]) {
      const answer = await call("POST", path, {
        json: { data: { text: "Great", extra: [1] }, project: project.id, id: 999, inner_id: 7 },
      });
      expect(answer.status, answer.text).toBe(201);
      expect(Object.keys(answer.body)).toEqual(TASK_KEYS);
      expect(answer.body).toMatchObject({
        data: { text: "Great", extra: [1] },
        meta: {},
        is_labeled: false,
        overlap: 2,
        total_annotations: 0,
        cancelled_annotations: 0,
        total_predictions: 0,
        comment_count: 0,
        unresolved_comment_count: 0,
        last_comment_updated_at: null,
        project: project.id,
        updated_by: null,
        file_upload: null,
        comment_authors: [],
      });
      expect(answer.body.id).not.toBe(999);
      expect(answer.body.created_at).toMatch(ISO_UTC);
      expect(answer.body.updated_at).toMatch(ISO_UTC);
    }
    const list = await call("GET", `/api/tasks/?project=${project.id}`);
    expect(list.body.tasks.map((t: { inner_id: number }) => t.inner_id)).toEqual([1, 2]);
  });

  it("answers each documented error with the contract's body", async () => {
    const project = await createProject();
    const post = (json: unknown) => call("POST", "/api/tasks/", { json });
    expectError(
      await post({ data: {}, project: 999_999 }),
      404,
      "No Project matches the given query.",
    );
    expectError(await post({ data: {}, project: "abc" }), 404, "Not found.");
    expectError(await post({ data: {}, project: [1] }), 404, "Not found.");
    expectError(await post({ data: {}, project: 1.5 }), 404, "Not found.");
    expectError(await post({ data: {}, project: 0 }), 400, "Validation error", {
      project: ['Invalid pk "0" - object does not exist.'],
    });
    expectError(await post({ project: project.id }), 400, "Validation error", {
      data: ["This field is required."],
    });
    expectError(await post({ data: null, project: project.id }), 400, "Validation error", {
      data: ["This field may not be null."],
    });
    expectError(await post({ data: { text: "x" } }), 400, "Validation error", {
      project: ["This field is required."],
    });
    expectError(await post({ data: [1], project: project.id }), 400, "Validation error", {
      non_field_errors: ["Task[data] must be dict or list"],
    });
    expectError(await post({ data: { nope: 1 }, project: project.id }), 400, "Validation error", {
      non_field_errors: [
        '"text" key is expected in task data [assume: item["data"] = task root with values]',
      ],
    });
    expectError(
      await post({ data: { text: "x" }, meta: "m", project: project.id }),
      400,
      "Validation error",
      { non_field_errors: ["Task[meta] must be dict or list"] },
    );
    expectError(
      await post({ data: { text: "a\u0000b" }, project: project.id }),
      400,
      "Validation error",
      { data: [/^The string at data\.text contains U\+0000/] },
    );
    expectError(
      await call("POST", "/api/tasks/", { headers: { authorization: "" } }),
      401,
      "Authentication credentials were not provided.",
    );
  });

  it("answers 400 to a JSON array, a string, a number, null and invalid JSON", async () => {
    const notObject = [/^The request body must be a JSON object/];
    for (const json of [[{ data: {}, project: 1 }], "a string", 42, null]) {
      expectError(await call("POST", "/api/tasks/", { json }), 400, "Validation error", {
        non_field_errors: notObject,
      });
    }
    const invalid = await call("POST", "/api/tasks/", {
      headers: { "content-type": "application/json" },
      body: '{"data": {',
    });
    expectError(invalid, 400, /^JSON parse error/);
  });

  it("reads form and multipart bodies with data as a JSON string", async () => {
    const project = await createProject();
    const form = await call("POST", "/api/tasks/", {
      body: new URLSearchParams({
        data: JSON.stringify({ text: "from a form" }),
        meta: '{"source": "form"}',
        project: String(project.id),
      }),
    });
    expect(form.status, form.text).toBe(201);
    expect(form.body).toMatchObject({ data: { text: "from a form" }, meta: { source: "form" } });

    const multipart = new FormData();
    multipart.append("data", JSON.stringify({ text: "from multipart" }));
    multipart.append("project", String(project.id));
    multipart.append("file", new Blob(["ignored"]), "ignored.txt");
    const parts = await call("POST", "/api/tasks/", { body: multipart });
    expect(parts.status, parts.text).toBe(201);
    expect(Object.keys(parts.body)).toEqual(TASK_KEYS);
    expect(parts.body.data).toEqual({ text: "from multipart" });

    const broken = await call("POST", "/api/tasks/", {
      body: new URLSearchParams({ data: "{not json", project: String(project.id) }),
    });
    expectError(broken, 400, "Validation error", { data: ["Value must be valid JSON."] });
  });

  it("answers 413 above the body limit, 415 for other content types", async () => {
    const project = await createProject();
    const big = await call("POST", "/api/tasks/", {
      json: { data: { text: "x".repeat(MAX_BODY) }, project: project.id },
    });
    expectError(big, 413, /larger than this server accepts \(65536 bytes/);
    const multipart = new FormData();
    multipart.append("data", JSON.stringify({ text: "x" }));
    multipart.append("project", String(project.id));
    multipart.append("file", new Blob(["x".repeat(MAX_BODY + 1)]), "big.txt");
    expectError(await call("POST", "/api/tasks/", { body: multipart }), 413, /larger than/);
    const text = await call("POST", "/api/tasks/", {
      headers: { "content-type": "text/plain" },
      body: "text=hello",
    });
    expectError(text, 415, /^Unsupported media type "text\/plain"/);
    const xml = await call("POST", "/api/tasks/", {
      headers: { "content-type": "application/xml" },
      body: "<task/>",
    });
    expectError(xml, 415, /^Unsupported media type "application\/xml"/);
    // Nothing was created by any of these.
    expect((await call("GET", `/api/tasks/?project=${project.id}`)).body.total).toBe(0);
  });
});

describe("/api/tasks/{id}/", () => {
  it("reads, updates and deletes a task, with and without the trailing slash", async () => {
    const project = await createProject();
    const task = await createTask(project.id, { text: "before" });
    for (const path of [`/api/tasks/${task.id}/`, `/api/tasks/${task.id}`]) {
      const read = await call("GET", path);
      expect(read.status).toBe(200);
      expect(Object.keys(read.body)).toEqual(TASK_DETAIL_KEYS);
      const { file_upload: _upload, updated_by: _by, ...own } = task;
      expect(read.body).toMatchObject({ ...own, annotations: [], predictions: [], drafts: [] });
      expect(read.body).toMatchObject({ file_upload: null, updated_by: [] });
    }
    const patched = await call("PATCH", `/api/tasks/${task.id}`, {
      json: { data: { text: "after" }, meta: { checked: true }, project: 12345, inner_id: 99 },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(Object.keys(patched.body)).toEqual(TASK_KEYS);
    expect(patched.body).toMatchObject({
      id: task.id,
      inner_id: task.inner_id,
      project: project.id,
      data: { text: "after" },
      meta: { checked: true },
      updated_by: tenant.user.id,
    });
    expectError(
      await call("PATCH", `/api/tasks/${task.id}/`, { json: { data: { nope: 1 } } }),
      400,
      "Validation error",
      { non_field_errors: [/"text" key is expected in task data/] },
    );
    expectError(
      await call("PATCH", `/api/tasks/${task.id}/`, { json: [1] }),
      400,
      "Validation error",
      { non_field_errors: [/must be a JSON object/] },
    );
    const deleted = await call("DELETE", `/api/tasks/${task.id}/`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe("");
    expectError(
      await call("GET", `/api/tasks/${task.id}/`),
      404,
      "No Task matches the given query.",
    );
    expectError(
      await call("DELETE", `/api/tasks/${task.id}`),
      404,
      "No Task matches the given query.",
    );
    expectError(await call("GET", "/api/tasks/abc/"), 404, "Not found.");
    expectError(
      await call("GET", "/api/tasks/99999999999999999999/"),
      404,
      "No Task matches the given query.",
    );
  });

  it("answers 405 with Allow for other methods, before reading the body", async () => {
    const put = await call("PUT", "/api/tasks/1/", {
      headers: { "content-type": "application/json" },
      body: "{broken",
    });
    expectError(put, 405, 'Method "PUT" not allowed.');
    expect(put.headers.get("allow")).toBe("GET, PATCH, DELETE, HEAD, OPTIONS");
    const onList = await call("DELETE", "/api/tasks/");
    expectError(onList, 405, 'Method "DELETE" not allowed.');
    expect(onList.headers.get("allow")).toBe("GET, POST, HEAD, OPTIONS");
    const options = await call("OPTIONS", "/api/projects/1");
    expect(options.status).toBe(204);
    expect(options.headers.get("allow")).toBe("GET, PATCH, DELETE, HEAD, OPTIONS");
  });

  it("answers the contract's 404 for unknown /api paths, and no redirect anywhere", async () => {
    expectError(await call("GET", "/api/nothing-here/"), 404, "Not found.");
    expectError(await call("POST", "/api/projects/1/nothing"), 404, "Not found.");
    const noSlash = await call("GET", "/api/projects");
    expect(noSlash.status).toBe(200);
    expect(noSlash.headers.get("location")).toBeNull();
  });
});

describe("GET /api/tasks/?project=", () => {
  it("pages a project's tasks by inner_id with its totals, and 404s past the end", async () => {
    const project = await createProject();
    for (let i = 1; i <= 5; i++) await createTask(project.id, { text: `t${i}` });
    const first = await call("GET", `/api/tasks/?project=${project.id}&page=1&page_size=2`);
    expect(first.status).toBe(200);
    // Label Studio's Data Manager writes the totals first.
    expect(Object.keys(first.body)).toEqual([
      "total_annotations",
      "total_predictions",
      "total",
      "tasks",
    ]);
    expect(first.body).toMatchObject({ total: 5, total_annotations: 0, total_predictions: 0 });
    expect(first.body.tasks.map((t: { data: { text: string } }) => t.data.text)).toEqual([
      "t1",
      "t2",
    ]);
    expect(Object.keys(first.body.tasks[0])).toEqual(TASK_LIST_KEYS);
    const last = await call("GET", `/api/tasks?project=${project.id}&page=3&page_size=2`);
    expect(last.body.tasks.map((t: { data: { text: string } }) => t.data.text)).toEqual(["t5"]);
    expectError(
      await call("GET", `/api/tasks/?project=${project.id}&page=4&page_size=2`),
      404,
      "Invalid page.",
    );
    expectError(
      await call("GET", `/api/tasks/?project=${project.id}&page=0`),
      404,
      "Invalid page.",
    );
    expectError(
      await call("GET", `/api/tasks/?project=${project.id}&page=x`),
      404,
      "Invalid page.",
    );
    // page_size beyond the maximum is capped, as DRF does, not refused.
    const capped = await call("GET", `/api/tasks/?project=${project.id}&page_size=100000`);
    expect(capped.body.tasks).toHaveLength(5);
    expectError(await call("GET", "/api/tasks/"), 404, "Neither project nor view id specified");
    expectError(await call("GET", "/api/tasks/?project=abc"), 400, "Validation error", {
      project: ['Incorrect value in key "project" = "abc". It should be digit string.'],
    });
    expectError(
      await call("GET", "/api/tasks/?project=424242"),
      404,
      "No Project matches the given query.",
    );
    expectError(
      await call("GET", "/api/tasks/?project=99999999999"),
      404,
      "No Project matches the given query.",
    );
  });
});

describe("/api/projects/", () => {
  it("creates a project with defaults, keeping Label Studio's settings", async () => {
    for (const path of ["/api/projects/", "/api/projects"]) {
      const answer = await call("POST", path, {
        json: { title: "Defaults", color: "#FF0000", sampling: "Sequential sampling" },
      });
      expect(answer.status, answer.text).toBe(201);
      expect(Object.keys(answer.body)).toEqual(PROJECT_KEYS);
      expect(answer.body).toMatchObject({
        title: "Defaults",
        description: "",
        label_config: "<View></View>",
        maximum_annotations: 1,
        organization: tenant.user.organizationId,
        created_by: {
          id: tenant.user.id,
          first_name: "",
          last_name: "",
          username: tenant.user.email.split("@")[0],
          email: tenant.user.email,
          avatar: null,
        },
        color: "#FF0000",
        task_number: 0,
      });
      expect(answer.body.created_at).toMatch(ISO_UTC);
    }
    const form = await call("POST", "/api/projects/", {
      body: new URLSearchParams({ title: "Form", maximum_annotations: "3" }),
    });
    expect(form.status, form.text).toBe(201);
    expect(form.body.maximum_annotations).toBe(3);
  });

  it("refuses bad projects with validation_errors per field", async () => {
    expectError(
      await call("POST", "/api/projects/", { json: { title: "Bad", label_config: "<View><Text" } }),
      400,
      "Validation error",
      { label_config: [/^Label config is not well-formed XML/] },
    );
    // Label Studio creates a project without a title; a wrong type is still refused.
    const untitled = await call("POST", "/api/projects/", { json: { label_config: TEXT_CONFIG } });
    expect(untitled.status).toBe(201);
    expect(untitled.body).toMatchObject({ title: "" });
    expectError(
      await call("POST", "/api/projects/", { json: { title: 5, label_config: TEXT_CONFIG } }),
      400,
      "Validation error",
      { title: ["Not a valid string."] },
    );
    expectError(
      await call("POST", "/api/projects/", { json: { title: "XYZ", maximum_annotations: 0 } }),
      400,
      "Validation error",
      { maximum_annotations: ["Ensure this value is greater than or equal to 1."] },
    );
    for (const json of [[{ title: "x" }], "a string"]) {
      const answer = await call("POST", "/api/projects/", { json });
      expectError(answer, 400, "Validation error", { non_field_errors: [/expected object/] });
    }
    expectError(
      await call("POST", "/api/projects/", {
        headers: { "content-type": "application/json" },
        body: "[",
      }),
      400,
      /^JSON parse error/,
    );
  });

  it("pages projects like DRF: absolute next/previous, 404 past the end", async () => {
    const ids: number[] = [];
    for (let i = 1; i <= 5; i++) ids.push((await createProject({ title: `Project ${i}` })).id);
    const first = await call("GET", "/api/projects/?page_size=2");
    expect(first.status).toBe(200);
    expect(Object.keys(first.body)).toEqual(["count", "next", "previous", "results"]);
    expect(first.body.count).toBe(5);
    expect(first.body.previous).toBeNull();
    expect(first.body.next).toBe(`${rest.base}/api/projects/?page_size=2&page=2`);
    expect(Object.keys(first.body.results[0])).toEqual(PROJECT_KEYS);
    const second = await send(
      rest.base,
      "GET",
      new URL(first.body.next).pathname + new URL(first.body.next).search,
      { headers: auth },
    );
    expect(second.body.previous).toBe(`${rest.base}/api/projects/?page_size=2`);
    const third = await call("GET", "/api/projects?page=3&page_size=2");
    expect(third.body.next).toBeNull();
    expect(third.body.previous).toBe(`${rest.base}/api/projects?page=2&page_size=2`);
    const seen = [...first.body.results, ...second.body.results, ...third.body.results].map(
      (p: { id: number }) => p.id,
    );
    expect(seen).toEqual([...ids].reverse());
    expectError(await call("GET", "/api/projects/?page=4&page_size=2"), 404, "Invalid page.");
  });

  it("reads, updates and deletes a project (and its tasks)", async () => {
    const project = await createProject();
    await createTask(project.id);
    for (const path of [`/api/projects/${project.id}/`, `/api/projects/${project.id}`]) {
      const read = await call("GET", path);
      expect(read.status).toBe(200);
      expect(Object.keys(read.body)).toEqual(PROJECT_KEYS);
      expect(read.body.task_number).toBe(1);
    }
    const patched = await call("PATCH", `/api/projects/${project.id}`, {
      json: { title: "Renamed", maximum_annotations: 3, show_skip_button: false },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(Object.keys(patched.body)).toEqual(PROJECT_KEYS);
    expect(patched.body).toMatchObject({
      title: "Renamed",
      maximum_annotations: 3,
      label_config: TEXT_CONFIG,
    });
    expectError(
      await call("PATCH", `/api/projects/${project.id}/`, { json: { label_config: "<Nope/>" } }),
      400,
      "Validation error",
      { label_config: [/<View> as its root element/] },
    );
    expect((await call("DELETE", `/api/projects/${project.id}/`)).status).toBe(204);
    expectError(
      await call("GET", `/api/projects/${project.id}/`),
      404,
      "No Project matches the given query.",
    );
    expectError(
      await call("PATCH", `/api/projects/${project.id}/`, { json: { title: "x" } }),
      404,
      "No Project matches the given query.",
    );
    expectError(
      await call("DELETE", `/api/projects/${project.id}/`),
      404,
      "No Project matches the given query.",
    );
    expectError(await call("GET", "/api/projects/x/"), 404, "Not found.");
  });
});

describe("organization scoping", () => {
  it("answers 404 to another organization on every endpoint, and changes nothing", async () => {
    const project = await createProject();
    const task = await createTask(project.id, { text: "secret" });
    const stranger = await createTenant(rest.tdb.db);
    const as = (method: string, path: string, json?: unknown) =>
      send(rest.base, method, path, { headers: stranger.headers, json });
    const noProject = "No Project matches the given query.";
    const noTask = "No Task matches the given query.";
    expectError(
      await as("POST", "/api/tasks/", { data: { text: "x" }, project: project.id }),
      404,
      noProject,
    );
    expectError(await as("GET", `/api/tasks/?project=${project.id}`), 404, noProject);
    expectError(await as("GET", `/api/tasks/${task.id}/`), 404, noTask);
    expectError(
      await as("PATCH", `/api/tasks/${task.id}/`, { data: { text: "mine" } }),
      404,
      noTask,
    );
    expectError(await as("DELETE", `/api/tasks/${task.id}/`), 404, noTask);
    expectError(await as("GET", `/api/projects/${project.id}/`), 404, noProject);
    expectError(
      await as("PATCH", `/api/projects/${project.id}/`, { title: "mine" }),
      404,
      noProject,
    );
    expectError(await as("DELETE", `/api/projects/${project.id}/`), 404, noProject);
    const ownToken = (await call("GET", "/api/tokens/")).body[0].id;
    expectError(
      await as("DELETE", `/api/tokens/${ownToken}/`),
      404,
      "No Token matches the given query.",
    );
    expect((await as("GET", "/api/projects/")).body).toMatchObject({ count: 0, results: [] });
    expect((await as("GET", "/api/tokens/")).body.map((t: { id: number }) => t.id)).not.toContain(
      ownToken,
    );
    // All intact for the owner.
    expect((await call("GET", `/api/tasks/${task.id}/`)).body.data).toEqual({ text: "secret" });
    expect((await call("GET", `/api/projects/${project.id}/`)).body).toMatchObject({
      title: "Reviews",
      task_number: 1,
    });
    expect((await call("GET", "/api/tokens/")).body[0].revoked_at).toBeNull();
  });
});

describe("a script written for Label Studio", () => {
  it("creates a project and tasks, reads them back, pages to the 404 and gets a 400", async () => {
    const sdk = { "user-agent": "python-requests/2.32.3", authorization: `Token  ${tenant.token}` };
    const ls = (method: string, path: string, json?: unknown) =>
      send(rest.base, method, path, { headers: sdk, json });
    const version = await ls("GET", "/api/version");
    expect(version.status).toBe(200);
    expect(version.body.release).toBe(packageJson.version);

    const project = await ls("POST", "/api/projects", {
      title: "Sentiment",
      description: "From a script",
      label_config:
        '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text"><Choice value="Positive"/></Choices></View>',
      expert_instruction: "<p>Label it</p>",
    });
    expect(project.status, project.text).toBe(201);
    const read = await ls("GET", `/api/projects/${project.body.id}`);
    expect(read.body.label_config).toContain('value="$text"');

    const created: number[] = [];
    for (let i = 0; i < 7; i++) {
      const task = await ls("POST", "/api/tasks/", {
        data: { text: `review ${i}` },
        project: project.body.id,
      });
      expect(task.status, task.text).toBe(201);
      expect(task.body.inner_id).toBe(i + 1);
      created.push(task.body.id);
    }
    for (const id of created) {
      const task = await ls("GET", `/api/tasks/${id}/`);
      expect(task.body.data.text).toMatch(/^review \d$/);
    }

    // SDK 1.x's get_tasks(): pages of page_size with extra query parameters, until a 404.
    const seen: number[] = [];
    for (let page = 1; ; page++) {
      const query = new URLSearchParams({
        project: String(project.body.id),
        page: String(page),
        page_size: "3",
        query: JSON.stringify({
          filters: null,
          ordering: [],
          selectedItems: { all: true, excluded: [] },
        }),
        fields: "all",
        resolve_uri: "True",
      });
      const answer = await ls("GET", `/api/tasks?${query}`);
      if (answer.status === 404) {
        expectError(answer, 404, "Invalid page.");
        expect(page).toBe(4);
        break;
      }
      expect(answer.status).toBe(200);
      seen.push(...answer.body.tasks.map((t: { id: number }) => t.id));
    }
    expect(seen).toEqual(created);

    // Projects page by page, following `next`, then the page past the end.
    await ls("POST", "/api/projects/", { title: "Second" });
    let next: string | null = `${rest.base}/api/projects/?page_size=1`;
    const titles: string[] = [];
    let pages = 0;
    while (next) {
      const url = new URL(next);
      const answer = await ls("GET", url.pathname + url.search);
      titles.push(...answer.body.results.map((p: { title: string }) => p.title));
      next = answer.body.next;
      pages++;
    }
    expect(titles).toEqual(["Second", "Sentiment"]);
    expectError(
      await ls("GET", `/api/projects/?page_size=1&page=${pages + 1}`),
      404,
      "Invalid page.",
    );

    const missing = await ls("POST", "/api/tasks/", {
      data: { body: "no text key" },
      project: project.body.id,
    });
    expectError(missing, 400, "Validation error", {
      non_field_errors: [
        '"text" key is expected in task data [assume: item["data"] = task root with values]',
      ],
    });
  });
});

describe("GET /api/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document describing every REST path", async () => {
    const answer = await send(rest.base, "GET", "/api/openapi.json");
    expect(answer.status).toBe(200);
    const validator = new Validator();
    const result = await validator.validate(answer.body);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(answer.body.info.version).toBe(packageJson.version);
    expect(Object.keys(answer.body.paths)).toEqual(
      expect.arrayContaining([
        "/api/tasks/",
        "/api/tasks/{id}/",
        "/api/projects/",
        "/api/projects/{id}/",
        "/api/token/refresh/",
      ]),
    );
    const task = answer.body.components.schemas.Task;
    expect(Object.keys(task.properties)).toEqual(TASK_KEYS);
    expect(task.properties.created_at).toEqual({ type: "string", format: "date-time" });
  });

  it("documents every route Fastify serves, and serves every route it documents", async () => {
    const document = (await send(rest.base, "GET", "/api/openapi.json")).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    expect(documented).toContain("POST /api/projects/{id}/import");
    expect(documented).toContain("GET /health");
    const bare = (path: string) => path.replace(/\/+$/, "");
    const isDocumented = (method: string, path: string) =>
      [...documented].some((entry) => {
        const [m, p] = entry.split(" ") as [string, string];
        return (method === "*" || m === method) && bare(p) === bare(path);
      });

    const served = rest.api.routes
      .map(({ method, url }) => ({ method, path: url.replace(/:(\w+)/g, "{$1}") }))
      // tRPC has its own surface; /api/* and /data/* are the contract's 404 for every unknown path.
      .filter(
        ({ path }) => !path.startsWith("/api/trpc") && path !== "/api/*" && path !== "/data/*",
      );
    expect(served.length).toBeGreaterThan(documented.size);
    for (const { method, path } of served) {
      const asDocumented = method === "HEAD" ? "GET" : method;
      if (method === "OPTIONS") expect(isDocumented("*", path), `OPTIONS ${path}`).toBe(true);
      else if (!isDocumented(asDocumented, path)) {
        // Served but not documented: only Django REST framework's refusal of other methods.
        expect(isDocumented("*", path), `${method} ${path}`).toBe(true);
        const answer = await call(method, path.replace(/\{\w+\}/g, "1"));
        expect(answer.status, `${method} ${path}`).toBe(405);
      }
    }
    for (const entry of documented) {
      const [method, path] = entry.split(" ") as [string, string];
      for (const spelling of [path, path.endsWith("/") ? bare(path) : `${path}/`]) {
        expect(
          served.some((route) => route.method === method && route.path === spelling),
          `${method} ${spelling}`,
        ).toBe(true);
      }
    }
  });

  it("answers 503 with Retry-After when the database cannot be reached", async () => {
    // A real outage: a server whose database is a loopback port nothing listens on.
    const port = await freePort();
    const db = createPostgresDb(`postgres://postgres@127.0.0.1:${port}/test`, {
      connectTimeoutMs: 2_000,
    });
    const logged: string[] = [];
    const down = await startApiServer({
      db,
      maxBodyBytes: MAX_BODY,
      logError: (id) => logged.push(id),
    });
    try {
      for (const [method, path, json] of [
        ["GET", "/api/projects/", undefined],
        ["POST", "/api/tasks/", { data: { text: "t" }, project: 1 }],
        ["GET", "/health", undefined],
      ] as const) {
        const answer = await send(down.base, method, path, { json, headers: auth });
        if (path === "/health") {
          expect(answer.status, answer.text).toBe(503);
          expect(answer.body).toEqual({ status: "DOWN" });
          continue;
        }
        expectError(answer, 503, DATABASE_UNAVAILABLE);
        expect(answer.headers.get("retry-after"), path).toBe("1");
      }
      expect(logged).toEqual([]);
    } finally {
      await down.close();
      await db.$close();
    }
  });

  it("logs unexpected errors under the id it answers with, and tells nothing else", async () => {
    // A database that is gone makes every query fail in an unexpected way.
    const project = await createProject();
    await rest.tdb.db.execute(sql`alter table tasks rename to tasks_away`);
    try {
      const answer = await call("GET", `/api/tasks/?project=${project.id}`);
      expectError(answer, 500, "Internal server error");
      expect(rest.logged).toContain(answer.body.id);
    } finally {
      await rest.tdb.db.execute(sql`alter table tasks_away rename to tasks`);
    }
  });
});
