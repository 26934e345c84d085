/**
 * POST /api/projects/{id}/import over real HTTP: every body kind, the query flags, the error
 * body, the byte limit and idempotent replays.
 */
import { asc, count, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fileUploads, predictions, projectImports, projects, tasks } from "../src/db/schema";
import {
  type ApiServer,
  createTenant,
  createTestDatabase,
  startApiServer,
  type TestDatabase,
} from "./support";

const MAX_IMPORT = 64 * 1024;

let tdb: TestDatabase;
let server: ApiServer;
let base: string;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let projectId: number;

beforeAll(async () => {
  tdb = await createTestDatabase();
  // The import limit is far above the ordinary body limit, as in production.
  server = await startApiServer({
    db: tdb.db,
    maxBodyBytes: 1024,
    maxImportBytes: MAX_IMPORT,
    logError: () => {},
  });
  base = server.base;
});
afterAll(async () => {
  await server?.close();
  await tdb?.close();
});
beforeEach(async () => {
  await tdb.truncate();
  tenant = await createTenant(tdb.db);
  const project = await tenant.caller.project.create({
    title: "REST import",
    label_config: '<View><Text name="text" value="$text"/></View>',
  });
  projectId = project.id;
});

async function post(path: string, body: RequestInit["body"], headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { authorization: `Token ${tenant.token}`, ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) };
}

const postJson = (path: string, value: unknown, headers: Record<string, string> = {}) =>
  post(path, JSON.stringify(value), { "content-type": "application/json", ...headers });

async function taskData() {
  const rows = await tdb.db
    .select({ data: tasks.data, innerId: tasks.innerId, fileUploadId: tasks.fileUploadId })
    .from(tasks)
    .where(eq(tasks.projectId, projectId))
    .orderBy(asc(tasks.innerId));
  return rows;
}

describe("POST /api/projects/{id}/import", () => {
  it("imports a JSON array (with or without the trailing slash) and answers Label Studio's body", async () => {
    const answer = await postJson(`/api/projects/${projectId}/import?return_task_ids=true`, [
      {
        data: { text: "a" },
        annotations: [{ result: [] }],
        predictions: [{ result: [], score: 0.5 }],
      },
      { text: "b" },
    ]);
    expect(answer.status).toBe(201);
    expect(Object.keys(answer.body)).toEqual([
      "task_count",
      "annotation_count",
      "prediction_count",
      "duration",
      "file_upload_ids",
      "could_be_tasks_list",
      "found_formats",
      "data_columns",
      "task_ids",
      "import",
    ]);
    expect(answer.body).toMatchObject({
      task_count: 2,
      annotation_count: 1,
      prediction_count: 1,
      file_upload_ids: [],
      could_be_tasks_list: false,
      // A body has no files: Label Studio answers two empty lists.
      found_formats: [],
      data_columns: [],
    });
    expect(typeof answer.body.duration).toBe("number");
    const rows = await taskData();
    expect(answer.body.task_ids).toHaveLength(2);

    const slash = await postJson(`/api/projects/${projectId}/import/`, { data: { text: "c" } });
    expect(slash.status).toBe(201);
    expect(slash.body.task_count).toBe(1);
    expect(slash.body.task_ids).toBeUndefined();
    expect((await taskData()).map((r) => [r.innerId, r.data])).toEqual([
      [1, { text: "a" }],
      [2, { text: "b" }],
      [3, { text: "c" }],
    ]);
    expect(rows).toHaveLength(2);
  });

  it("data_columns: the first task's keys of each file, shared by every file, else Label Studio's clash", async () => {
    const form = new FormData();
    form.append("a", new Blob(['[{"data": {"text": "x", "extra": 1}}, {"text": "y"}]']), "a.json");
    form.append("b", new Blob(["text,extra,more\nz,1,2\n"]), "b.csv");
    const answer = await post(`/api/projects/${projectId}/import`, form);
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      task_count: 3,
      found_formats: [".json", ".csv"],
      data_columns: ["extra", "text"],
    });

    const clash = new FormData();
    clash.append("a", new Blob(["text,lang\nx,en\n"]), "a.csv");
    clash.append("b", new Blob(['[{"other": 1}]']), "b.json");
    const refused = await post(`/api/projects/${projectId}/import`, clash);
    expect(refused.status).toBe(400);
    // The file as Label Studio names it: its stored name.
    const [message] = refused.body.validation_errors.non_field_errors;
    expect(message).toMatch(
      new RegExp(
        `^You're trying to import inconsistent data:\nuploading tabular data from "upload/${projectId}/[0-9a-f]{8}-b\\.json" with data key\\(s\\) "other", clashes with data key\\(s\\) found from other files:\n"text,lang"$`,
      ),
    );
    expect((await taskData()).length).toBe(3);
  });

  it("imports multipart files of several formats, each with its file_upload", async () => {
    const form = new FormData();
    form.append("csv", new Blob(['text,lang\n"Hello, ""world""",en\nÉté ☀,fr\n']), "rows.csv");
    form.append("jsonl", new Blob(['{"text": "line"}\n']), "more.jsonl");
    form.append("note", "a form field, ignored");
    const answer = await post(`/api/projects/${projectId}/import`, form);
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      task_count: 3,
      found_formats: [".csv", ".jsonl"],
      could_be_tasks_list: true,
      data_columns: ["text"],
    });
    const uploads = await tdb.db.select().from(fileUploads).orderBy(asc(fileUploads.id));
    expect(answer.body.file_upload_ids).toEqual(uploads.map((u) => u.id));
    expect(uploads.map((u) => [u.fileName, u.format, u.size])).toEqual([
      ["rows.csv", ".csv", Buffer.byteLength('text,lang\n"Hello, ""world""",en\nÉté ☀,fr\n')],
      ["more.jsonl", ".jsonl", 17],
    ]);
    expect((await taskData()).map((r) => [r.data, r.fileUploadId])).toEqual([
      [{ text: 'Hello, "world"', lang: "en" }, uploads[0]?.id],
      [{ text: "Été ☀", lang: "fr" }, uploads[0]?.id],
      [{ text: "line" }, uploads[1]?.id],
    ]);
  });

  it("answers per-item errors in validation_errors and writes nothing", async () => {
    const answer = await postJson(`/api/projects/${projectId}/import`, [
      { text: "ok" },
      { data: { other: 1 } },
    ]);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      status_code: 400,
      detail: "Validation error",
      validation_errors: {
        non_field_errors: [
          `Error at item 1: "text" key is expected in task data [assume: item["data"] = task root with values] :: {"data":{"other":1}}`,
        ],
      },
    });
    expect(await taskData()).toEqual([]);
    // Label Studio's message: the extension as os.path.splitext finds it, case kept.
    for (const [name, message] of [
      ["tasks.EXE", ".EXE extension is not supported"],
      ["archive.tar.gz", ".gz extension is not supported"],
      ["README", " extension is not supported"],
      [".bashrc", " extension is not supported"],
    ]) {
      const form = new FormData();
      form.append("file", new Blob(['{"text": "a"}']), name);
      const unsupported = await post(`/api/projects/${projectId}/import`, form);
      expect(unsupported.status).toBe(400);
      expect(unsupported.body.validation_errors).toEqual({ non_field_errors: [message] });
    }
    // Refused before any file is kept, even after a good one.
    const mixed = new FormData();
    mixed.append("good", new Blob(['{"text": "a"}']), "good.json");
    mixed.append("bad", new Blob(["x"]), "bad.bin");
    const refused = await post(`/api/projects/${projectId}/import`, mixed);
    expect(refused.status).toBe(400);
    expect(refused.body.validation_errors.non_field_errors).toEqual([
      ".bin extension is not supported",
    ]);
    const invalid = await post(`/api/projects/${projectId}/import`, '[{"text": "a"},', {
      "content-type": "application/json",
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.validation_errors.non_field_errors[0]).toMatch(/^The JSON is not valid/);
    expect(await tdb.db.select({ n: count() }).from(fileUploads)).toEqual([{ n: 0 }]);
  });

  it("commit_to_project=false counts and writes nothing", async () => {
    const answer = await postJson(`/api/projects/${projectId}/import?commit_to_project=false`, [
      { text: "a" },
      { text: "b" },
    ]);
    expect(answer.status).toBe(201);
    expect(answer.body.task_count).toBe(2);
    expect(await taskData()).toEqual([]);
  });

  it("404 for another organization's project, 401 without credentials", async () => {
    const other = await createTenant(tdb.db);
    const res = await fetch(`${base}/api/projects/${projectId}/import`, {
      method: "POST",
      headers: { authorization: `Token ${other.token}`, "content-type": "application/json" },
      body: "[]",
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toBe(
      "No Project matches the given query.",
    );
    const anonymous = await fetch(`${base}/api/projects/${projectId}/import`, {
      method: "POST",
      body: "[]",
    });
    expect(anonymous.status).toBe(401);
  });

  it("refuses a body over TASKPORT_MAX_IMPORT_BYTES with 413, declared or streamed, and writes nothing", async () => {
    const items = Array.from({ length: 3000 }, (_, i) => ({ text: `task number ${i}` }));
    const declared = await postJson(`/api/projects/${projectId}/import`, items);
    expect(declared.status).toBe(413);
    expect(declared.body.detail).toMatch(/TASKPORT_MAX_IMPORT_BYTES/);
    // Streamed without a length: counted as it arrives.
    const text = JSON.stringify(items);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < text.length; i += 4096)
          controller.enqueue(new TextEncoder().encode(text.slice(i, i + 4096)));
        controller.close();
      },
    });
    const res = await fetch(`${base}/api/projects/${projectId}/import`, {
      method: "POST",
      headers: { authorization: `Token ${tenant.token}`, "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await taskData()).toEqual([]);
    const [project] = await tdb.db.select().from(projects).where(eq(projects.id, projectId));
    expect(project?.lastInnerId).toBe(0);
    // Well under the import limit but over the ordinary one: accepted here.
    const fine = await postJson(`/api/projects/${projectId}/import`, items.slice(0, 100));
    expect(fine.status).toBe(201);
  });

  it("an Idempotency-Key replay answers the first response and creates nothing; another body is 422", async () => {
    const headers = { "idempotency-key": "import-1" };
    const path = `/api/projects/${projectId}/import?return_task_ids=1`;
    const first = await postJson(path, [{ text: "a" }, { text: "b" }], headers);
    const replay = await postJson(path, [{ text: "a" }, { text: "b" }], headers);
    expect(first.status).toBe(201);
    expect(replay).toEqual(first);
    expect(await taskData()).toHaveLength(2);
    const other = await postJson(path, [{ text: "c" }], headers);
    expect(other.status).toBe(422);
    expect(other.body.detail).toMatch(/already used with a different request/);
    expect(await taskData()).toHaveLength(2);

    const form = () => {
      const f = new FormData();
      f.append("file", new Blob(["x\ny\n"]), "lines.txt");
      return f;
    };
    // One operation whichever surface takes the key: tRPC's import with it is the same key.
    const typed = await tenant.caller.task.import({
      project: projectId,
      items: [{ text: "typed" }],
      idempotencyKey: "shared-import",
    });
    expect(typed.task_count).toBe(1);
    const overRest = await postJson(path, [{ text: "rest" }], {
      "idempotency-key": "shared-import",
    });
    expect(overRest.status).toBe(422);
    expect(await taskData()).toHaveLength(3);

    const upload = await post(`/api/projects/${projectId}/import`, form(), {
      "idempotency-key": "f",
    });
    const again = await post(`/api/projects/${projectId}/import`, form(), {
      "idempotency-key": "f",
    });
    expect(again).toEqual(upload);
    expect(await taskData()).toHaveLength(5);
  });
});

describe("POST /api/tasks/ with an Idempotency-Key", () => {
  it("a replay answers the first task and creates nothing; another body is 422; tRPC shares the key", async () => {
    const headers = { "idempotency-key": "sdk-retry-1" };
    const body = { data: { text: "once" }, project: projectId };
    const first = await postJson("/api/tasks/", body, headers);
    const replay = await postJson("/api/tasks", body, headers);
    expect(first.status).toBe(201);
    expect(replay).toEqual(first);
    expect(await taskData()).toHaveLength(1);
    const other = await postJson("/api/tasks/", { ...body, data: { text: "twice" } }, headers);
    expect(other.status).toBe(422);
    // The same operation through tRPC with the same key and body is the same request.
    const typed = await tenant.caller.task.create({ ...body, idempotencyKey: "sdk-retry-1" });
    expect(typed.id).toBe(first.body.id);
    expect(await taskData()).toHaveLength(1);
    const bad = await postJson("/api/tasks/", body, { "idempotency-key": "bad key" });
    expect(bad.status).toBe(400);
  });
});

describe("preannotated_from_fields", () => {
  const CONFIG = `<View><Text name="text" value="$text"/>
    <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
    <Rating name="stars" toName="text"/><TextArea name="summary" toName="text"/></View>`;
  const choice = (value: string) => [
    { from_name: "sentiment", to_name: "text", type: "choices", value: { choices: [value] } },
  ];

  async function imported(project: number) {
    const rows = await tdb.db
      .select({ data: tasks.data, id: tasks.id })
      .from(tasks)
      .where(eq(tasks.projectId, project))
      .orderBy(asc(tasks.innerId));
    const made = await tdb.db
      .select({
        task: predictions.taskId,
        result: predictions.result,
        score: predictions.score,
        version: predictions.modelVersion,
      })
      .from(predictions)
      .orderBy(asc(predictions.id));
    return rows.map((row) => ({
      data: row.data,
      predictions: made.filter((p) => p.task === row.id).map(({ task: _, ...p }) => p),
    }));
  }

  it("makes the named fields of each task's data its predictions, as Label Studio does", async () => {
    const { id } = await tenant.caller.project.create({ title: "Pre", label_config: CONFIG });
    const region = {
      from_name: "sentiment",
      to_name: "text",
      type: "choices",
      value: { choices: ["neg"] },
    };
    const answer = await postJson(
      `/api/projects/${id}/import?preannotated_from_fields=sentiment,stars`,
      [
        { text: "a", sentiment: "pos", stars: 4 },
        {
          data: { text: "b", sentiment: [region], stars: null },
          predictions: [{ result: [], score: 0.5, model_version: "mine" }],
        },
      ],
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(answer.body).toMatchObject({ task_count: 2, prediction_count: 4 });
    const stars = [{ from_name: "stars", to_name: "text", type: "rating", value: { rating: 4 } }];
    expect(await imported(id)).toEqual([
      {
        data: { text: "a" },
        predictions: [
          { result: choice("pos"), score: 1, version: "preannotated" },
          { result: stars, score: 1, version: "preannotated" },
        ],
      },
      {
        data: { text: "b" },
        predictions: [
          { result: [], score: 0.5, version: "mine" },
          { result: [region], score: 1, version: "preannotated" },
        ],
      },
    ]);
    const [record] = await tdb.db
      .select({ fields: projectImports.preannotatedFromFields })
      .from(projectImports)
      .where(eq(projectImports.id, answer.body.import));
    expect(record?.fields).toEqual(["sentiment", "stars"]);

    // Files too, the parameter repeated (the newer SDK's form); a TextArea takes a string.
    const form = new FormData();
    form.append("file", new Blob(["text,summary,sentiment\nhello,short,neg\n"]), "rows.csv");
    const csv = await post(
      `/api/projects/${id}/import?preannotated_from_fields=summary&preannotated_from_fields=sentiment`,
      form,
    );
    expect(csv.status, JSON.stringify(csv.body)).toBe(201);
    expect((await imported(id))[2]).toEqual({
      data: { text: "hello" },
      predictions: [
        {
          result: [
            { from_name: "summary", to_name: "text", type: "textarea", value: { text: ["short"] } },
          ],
          score: 1,
          version: "preannotated",
        },
        { result: choice("neg"), score: 1, version: "preannotated" },
      ],
    });

    // tRPC takes the same option.
    await tenant.caller.task.import({
      project: id,
      items: [{ text: "c", sentiment: "pos" }],
      preannotatedFromFields: ["sentiment"],
    });
    expect((await imported(id))[3]).toMatchObject({ data: { text: "c" } });
    expect((await imported(id))[3]?.predictions).toHaveLength(1);
  });

  it("refuses a task without the field, or a value no control takes, item by item, writing nothing", async () => {
    const { id } = await tenant.caller.project.create({ title: "Pre", label_config: CONFIG });
    const answer = await postJson(`/api/projects/${id}/import?preannotated_from_fields=sentiment`, [
      { text: "a", sentiment: "pos" },
      { text: "b" },
      { text: "c", sentiment: { nothing: 1 } },
      { text: "d", sentiment: true },
    ]);
    expect(answer.status).toBe(400);
    expect(answer.body.validation_errors.non_field_errors).toEqual([
      `Error at item 1: Preannotated field 'sentiment' not found in task data :: {"text":"b"}`,
      `Error at item 2: Preannotated field 'sentiment': no control tag of the label config takes {"nothing":1} :: {"text":"c","sentiment":{"nothing":1}}`,
      `Error at item 3: Preannotated field 'sentiment': no control tag of the label config takes true :: {"text":"d","sentiment":true}`,
    ]);
    // A result that the config refuses is refused as any imported prediction's.
    const wrong = await postJson(`/api/projects/${id}/import?preannotated_from_fields=sentiment`, [
      {
        text: "a",
        sentiment: [{ from_name: "nope", to_name: "text", type: "choices", value: {} }],
      },
    ]);
    expect(wrong.status).toBe(400);
    expect(wrong.body.validation_errors.non_field_errors[0]).toContain(
      "'from_name' 'nope' not found in configuration",
    );
    expect(await imported(id)).toEqual([]);
  });
});
