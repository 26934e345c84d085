/**
 * Label Studio's task lists over real HTTP: the Data Manager list (`GET /api/tasks/`) with its
 * project and view checks, selections (`selectedItems`, `ids`), order, `fields`, `include` and
 * `omit`, totals and pages; the older per-project list (`GET /api/projects/{id}/tasks/`) and
 * its delete of every task; and the import's older name, `POST /api/projects/{id}/tasks/bulk/`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RestServer, send, startRestServer } from "./rest/server";
import { createTenant } from "./support/fixtures";

const CONFIG = `<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
</View>`;
const RESULT = [
  { from_name: "sentiment", to_name: "text", type: "choices", value: { choices: ["pos"] } },
];

let rest: RestServer;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let project: number;
let ids: number[];

beforeAll(async () => {
  rest = await startRestServer();
});
afterAll(async () => {
  await rest?.close();
});
beforeEach(async () => {
  await rest.tdb.truncate();
  tenant = await createTenant(rest.tdb.db);
  const created = await call("POST", "/api/projects/", { title: "Lists", label_config: CONFIG });
  project = created.body.id;
  const imported = await call("POST", `/api/projects/${project}/import?return_task_ids=true`, [
    { data: { text: "b" }, annotations: [{ result: RESULT }], predictions: [{ result: RESULT }] },
    { data: { text: "a" }, annotations: [{ result: RESULT }, { result: RESULT }] },
    { data: { text: "c" }, predictions: [{ result: RESULT }] },
  ]);
  expect(imported.status, imported.text).toBe(201);
  ids = imported.body.task_ids;
});

function call(method: string, path: string, json?: unknown) {
  return send(rest.base, method, path, { headers: tenant.headers, json });
}

const list = (query: string) => call("GET", `/api/tasks/?project=${project}&${query}`);
const texts = (answer: Awaited<ReturnType<typeof list>>) =>
  answer.body.tasks.map((task: { data: { text: string } }) => task.data.text);

describe("GET /api/tasks/", () => {
  it("answers the totals first, then the tasks by id", async () => {
    const answer = await list("");
    expect(answer.status, answer.text).toBe(200);
    expect(Object.keys(answer.body)).toEqual([
      "total_annotations",
      "total_predictions",
      "total",
      "tasks",
    ]);
    expect(answer.body).toMatchObject({ total_annotations: 3, total_predictions: 2, total: 3 });
    expect(texts(answer)).toEqual(["b", "a", "c"]);
    expect(answer.body.tasks.map((task: { id: number }) => task.id)).toEqual(ids);
  });

  it("selects tasks with selectedItems (in query or alone) and with ids", async () => {
    const [b, a, c] = ids as [number, number, number];
    const included = encodeURIComponent(
      JSON.stringify({ selectedItems: { all: false, included: [c, b] } }),
    );
    const some = await list(`query=${included}`);
    expect(texts(some)).toEqual(["b", "c"]);
    expect(some.body).toMatchObject({ total: 2, total_annotations: 1, total_predictions: 2 });
    const excluded = encodeURIComponent(JSON.stringify({ all: true, excluded: [a] }));
    expect(texts(await list(`selectedItems=${excluded}`))).toEqual(["b", "c"]);
    expect(texts(await list(`ids=${a},${c}`))).toEqual(["a", "c"]);
    expect(texts(await list("ids=999999"))).toEqual([]);
    const bad = await list(`selectedItems=${encodeURIComponent('{"all": "yes"}')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.validation_errors.selectedItems[0]).toMatch(/^selectedItems must be dict/);
  });

  it("orders by the first ordering field, a data key included", async () => {
    const order = (value: string[]) =>
      list(`query=${encodeURIComponent(JSON.stringify({ ordering: value }))}`);
    expect(texts(await order(["-tasks:id"]))).toEqual(["c", "a", "b"]);
    expect(texts(await order(["tasks:data.text"]))).toEqual(["a", "b", "c"]);
    expect(texts(await order(["-tasks:total_annotations"]))).toEqual(["a", "b", "c"]);
    const refused = await order(["tasks:no_such_field"]);
    expect(refused.status).toBe(400);
    expect(refused.body.validation_errors.ordering[0]).toMatch(/^Cannot order tasks by/);
    const filters = { filters: { conjunction: "and", items: [{ filter: "filter:tasks:id" }] } };
    const filtered = await list(`query=${encodeURIComponent(JSON.stringify(filters))}`);
    expect(filtered.status).toBe(400);
  });

  it("shapes each task with include and omit, in the serializer's order", async () => {
    const only = await list("include=data,id");
    expect(only.body.tasks.map((task: object) => Object.keys(task))).toEqual([
      ["id", "data"],
      ["id", "data"],
      ["id", "data"],
    ]);
    const none = await list("include=no_such_field");
    expect(none.body.tasks).toEqual([{}, {}, {}]);
    const all = await list("include=*");
    expect(Object.keys(all.body.tasks[0]).length).toBeGreaterThan(10);
    const omitted = await list("omit=data,meta");
    expect(Object.keys(omitted.body.tasks[0])).not.toContain("data");
    expect(Object.keys(omitted.body.tasks[0])).not.toContain("meta");
    expect(Object.keys(omitted.body.tasks[0])).toContain("inner_id");
  });

  it("pages 100 tasks by default, caps page_size at 1000, and 404s past the end", async () => {
    const many = Array.from({ length: 150 }, (_, i) => ({ text: `t${i}` }));
    expect((await call("POST", `/api/projects/${project}/import`, many)).status).toBe(201);
    const first = await list("");
    expect(first.body.total).toBe(153);
    expect(first.body.tasks).toHaveLength(100);
    expect((await list("page=2")).body.tasks).toHaveLength(53);
    expect((await list("page_size=5000")).body.tasks).toHaveLength(153);
    const past = await list("page=3");
    expect(past.status).toBe(404);
    expect(past.body.detail).toBe("Invalid page.");
  });

  it("answers Label Studio's 404s: no project, a view, another organization's project", async () => {
    const none = await call("GET", "/api/tasks/");
    expect(none.status).toBe(404);
    expect(none.body.detail).toBe("Neither project nor view id specified");
    const zero = await call("GET", "/api/tasks/?project=0");
    expect(zero.body.detail).toBe("Neither project nor view id specified");
    const view = await call("GET", "/api/tasks/?view=3");
    expect(view.status).toBe(404);
    expect(view.body.detail).toBe("No View matches the given query.");
    const stranger = await createTenant(rest.tdb.db);
    const theirs = await send(rest.base, "GET", `/api/tasks/?project=${project}`, {
      headers: stranger.headers,
    });
    expect(theirs.status).toBe(404);
    expect(theirs.body.detail).toBe("No Project matches the given query.");
  });
});

describe("GET /api/projects/{id}/tasks/", () => {
  const projectTasks = (query = "", id = project) =>
    call("GET", `/api/projects/${id}/tasks/${query}`);

  it("lists the tasks in the detail shape, most recently updated first", async () => {
    const [b, a, c] = ids as [number, number, number];
    const patched = await call("PATCH", `/api/tasks/${a}/`, { data: { text: "a2" } });
    expect(patched.status, patched.text).toBe(200);
    const answer = await projectTasks();
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.map((task: { id: number }) => task.id)).toEqual([a, c, b]);
    const detail = await call("GET", `/api/tasks/${b}/`);
    const listed = answer.body[2];
    expect(Object.keys(listed)).toEqual(Object.keys(detail.body));
    expect(listed.annotations).toHaveLength(1);
    expect(listed.predictions).toHaveLength(1);
    expect(listed).toMatchObject({ id: b, data: { text: "b" }, project, total_annotations: 1 });
  });

  it("pages with page and page_size, and answers 404 past the end", async () => {
    const [b, a, c] = ids as [number, number, number];
    await call("PATCH", `/api/tasks/${a}/`, { data: { text: "a2" } });
    const first = await projectTasks("?page=1&page_size=2");
    expect(first.body.map((task: { id: number }) => task.id)).toEqual([a, c]);
    const second = await projectTasks("?page=2&page_size=2");
    expect(second.body.map((task: { id: number }) => task.id)).toEqual([b]);
    const past = await projectTasks("?page=3&page_size=2");
    expect(past.status).toBe(404);
    expect(past.body.detail).toBe("Not found.");
    expect((await projectTasks("?page=0")).status).toBe(404);
    expect((await projectTasks("?page_size=-1")).body).toHaveLength(3);
  });

  it("answers a page that is not an integer as Label Studio's int_from_request does: 400 on page", async () => {
    for (const page of ["abc", "1.5", ""]) {
      const bad = await projectTasks(`?page=${page}`);
      expect(bad.status, page).toBe(400);
      expect(bad.body.validation_errors).toEqual({
        page: [`Incorrect value in key "page" = "${page}". It should be digit string.`],
      });
    }
    // What Python's int() reads is a page number.
    const signed = await projectTasks("?page=%2B1&page_size=2");
    expect(signed.status, signed.text).toBe(200);
    expect(signed.body).toHaveLength(2);
    expect((await projectTasks("?page=-1")).status).toBe(404);
  });

  it("answers 404 for another organization's project and for a project with no task", async () => {
    const stranger = await createTenant(rest.tdb.db);
    const theirs = await send(rest.base, "GET", `/api/projects/${project}/tasks/`, {
      headers: stranger.headers,
    });
    expect(theirs.status).toBe(404);
    expect(theirs.body.detail).toBe("No Project matches the given query.");
    const empty = await call("POST", "/api/projects/", { title: "Empty", label_config: CONFIG });
    expect((await projectTasks("", empty.body.id)).status).toBe(404);
    expect((await projectTasks("", 999_999)).status).toBe(404);
  });
});

describe("DELETE /api/projects/{id}/tasks/", () => {
  it("deletes every task with its annotations and predictions; the next task is inner_id 1", async () => {
    const stranger = await createTenant(rest.tdb.db);
    const theirs = await send(rest.base, "DELETE", `/api/projects/${project}/tasks/`, {
      headers: stranger.headers,
    });
    expect(theirs.status).toBe(404);
    expect(theirs.body.detail).toBe("No Project matches the given query.");
    expect((await call("DELETE", "/api/projects/999999/tasks/")).status).toBe(404);
    expect((await list("")).body.total).toBe(3);

    const other = await call("POST", "/api/projects/", { title: "Other", label_config: CONFIG });
    const kept = await call("POST", "/api/tasks/", { project: other.body.id, data: { text: "k" } });
    const gone = await call("DELETE", `/api/projects/${project}/tasks/`);
    expect(gone.status, gone.text).toBe(204);
    expect(gone.text).toBe("");
    expect((await list("")).body).toMatchObject({
      total: 0,
      total_annotations: 0,
      total_predictions: 0,
    });
    for (const id of ids) expect((await call("GET", `/api/tasks/${id}/`)).status).toBe(404);
    const after = await call("GET", `/api/projects/${project}/`);
    expect(after.body).toMatchObject({ task_number: 0, total_annotations_number: 0 });
    const next = await call("POST", "/api/tasks/", { project, data: { text: "new" } });
    expect(next.body).toMatchObject({ inner_id: 1 });
    expect((await call("GET", `/api/tasks/${kept.body.id}/`)).status).toBe(200);
    expect((await call("DELETE", `/api/projects/${project}/tasks/`)).status).toBe(204);
    // A project with no task: nothing to delete, still a 204.
    expect((await call("DELETE", `/api/projects/${project}/tasks/`)).status).toBe(204);
  });

  it("over tRPC, task.deleteAll answers how many it deleted", async () => {
    expect(await tenant.caller.task.deleteAll({ id: project })).toEqual({ deleted: 3 });
    expect((await list("")).body.total).toBe(0);
  });
});

describe("POST /api/projects/{id}/tasks/bulk/", () => {
  it("imports as /import does", async () => {
    const answer = await call("POST", `/api/projects/${project}/tasks/bulk/`, [
      { text: "d" },
      { text: "e" },
    ]);
    expect(answer.status, answer.text).toBe(201);
    expect(answer.body).toMatchObject({ task_count: 2, annotation_count: 0 });
    expect((await list("")).body.total).toBe(5);
    const other = await call("POST", "/api/projects/999999/tasks/bulk", [{ text: "f" }]);
    expect(other.status).toBe(404);
  });
});
