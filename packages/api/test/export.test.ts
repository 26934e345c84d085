/**
 * Label Studio's synchronous export over real HTTP: `GET /api/projects/{id}/export` in JSON
 * (ExportDataSerializer's fields in its order), JSON_MIN, CSV and TSV (as label_studio_sdk's
 * converter writes them from that JSON), which tasks it holds (`download_all_tasks`, `ids`,
 * `ids[]`), its file name, its refusals, `GET /api/projects/{id}/export/formats`, the
 * organization boundary, and an export of several pages read a page at a time.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { importStorages } from "../src/db/schema";
import { EXPORT_PAGE_SIZE, exportProject } from "../src/services/export";
import { type RestServer, send, startRestServer, VALIDATION_KEYS } from "./rest/server";
import { createTenant } from "./support/fixtures";

const CONFIG = `<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
  <TextArea name="note" toName="text"/>
</View>`;
const POS = {
  from_name: "sentiment",
  to_name: "text",
  type: "choices",
  value: { choices: ["pos"] },
};
const NEG = {
  from_name: "sentiment",
  to_name: "text",
  type: "choices",
  value: { choices: ["neg"] },
};
const NOTE = {
  from_name: "note",
  to_name: "text",
  type: "textarea",
  value: { text: ['fine, "really"'] },
};

const TASK_KEYS = [
  "id",
  "annotations",
  "file_upload",
  "drafts",
  "predictions",
  "data",
  "meta",
  "created_at",
  "updated_at",
  "inner_id",
  "total_annotations",
  "cancelled_annotations",
  "total_predictions",
  "comment_count",
  "unresolved_comment_count",
  "last_comment_updated_at",
  "project",
  "updated_by",
  "comment_authors",
];
const ANNOTATION_KEYS = [
  "id",
  "completed_by",
  "result",
  "was_cancelled",
  "ground_truth",
  "created_at",
  "updated_at",
  "draft_created_at",
  "lead_time",
  "prediction",
  "result_count",
  "unique_id",
  "import_id",
  "last_action",
  "bulk_created",
  "task",
  "project",
  "updated_by",
  "parent_prediction",
  "parent_annotation",
  "last_created_by",
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
  const created = await call("GET", "/api/projects/", undefined);
  expect(created.status).toBe(200);
  const made = await call("POST", "/api/projects/", { title: "Export", label_config: CONFIG });
  project = made.body.id;
  const imported = await call("POST", `/api/projects/${project}/import?return_task_ids=true`, [
    {
      data: { text: "b", extra: { url: "s3://bucket/b.txt", n: [1, 2] } },
      annotations: [{ result: [POS, NOTE], lead_time: 2.5 }],
      predictions: [{ result: [NEG], score: 0.5 }],
    },
    { data: { text: "a" }, annotations: [{ result: [NEG], lead_time: 3 }] },
    { data: { text: "c" } },
    { data: { text: "d" }, annotations: [{ result: [], was_cancelled: true }] },
  ]);
  expect(imported.status, imported.text).toBe(201);
  ids = imported.body.task_ids;
});

function call(method: string, path: string, json?: unknown) {
  return send(rest.base, method, path, { headers: tenant.headers, json });
}

const exported = (query = "") => call("GET", `/api/projects/${project}/export${query}`);

describe("GET /api/projects/{id}/export", () => {
  it("answers JSON by default: the tasks with an annotation, in Label Studio's fields and order", async () => {
    // The bucket is one of the project's storages: reads answer Taskport's URL for the URI,
    // the export the URI as stored.
    await rest.tdb.db
      .insert(importStorages)
      .values({ projectId: project, type: "s3", bucket: "bucket" });
    const detail = await call("GET", `/api/tasks/${ids[0]}/`);
    expect(detail.body.data.extra.url).toMatch(/^\/api\/tasks\/\d+\/resolve\/\?fileuri=/);
    const answer = await exported();
    expect(answer.status, answer.text).toBe(200);
    expect(answer.headers.get("content-type")).toBe("application/json");
    const name = new RegExp(
      `^project-${project}-at-\\d{4}-\\d\\d-\\d\\d-\\d\\d-\\d\\d-[0-9a-f]{8}\\.json$`,
    );
    expect(answer.headers.get("filename")).toMatch(name);
    expect(answer.headers.get("content-disposition")).toBe(
      `attachment; filename="${answer.headers.get("filename")}"`,
    );
    const [b, a, , d] = ids as [number, number, number, number];
    expect(answer.body.map((task: { id: number }) => task.id)).toEqual([b, a, d]);
    const [first] = answer.body;
    expect(Object.keys(first)).toEqual(TASK_KEYS);
    expect(Object.keys(first.annotations[0])).toEqual(ANNOTATION_KEYS);
    expect(first).toMatchObject({
      data: { text: "b", extra: { url: "s3://bucket/b.txt", n: [1, 2] } },
      drafts: [],
      file_upload: null,
      total_annotations: 1,
      total_predictions: 1,
      project,
    });
    expect(first.predictions).toHaveLength(1);
    expect(typeof first.predictions[0]).toBe("number");
    expect(first.annotations[0]).toMatchObject({
      result: [POS, NOTE],
      completed_by: tenant.user.id,
      lead_time: 2.5,
      prediction: {},
      result_count: 0,
      task: b,
    });
    expect(first.annotations[0].unique_id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    // The same file under the older parameter name, and every task on request.
    const older = await exported("?export_type=JSON&download_all_tasks=false");
    expect(older.body).toEqual(answer.body);
    const all = await exported("?exportType=JSON&download_all_tasks=true");
    expect(all.body.map((task: { id: number }) => task.id)).toEqual(ids);
  });

  it("exports only the tasks named by ids[] (Label Studio) or ids (the SDKs)", async () => {
    const [b, a, c] = ids as [number, number, number];
    const taskIds = (answer: { body: { id: number }[] }) => answer.body.map((task) => task.id);
    expect(taskIds(await exported(`?ids[]=${a}&ids[]=${c}&download_all_tasks=true`))).toEqual([
      a,
      c,
    ]);
    expect(taskIds(await exported(`?ids=${b}&ids=${c}`))).toEqual([b]);
    expect(taskIds(await exported(`?ids=${b},${a}`))).toEqual([b, a]);
    expect(taskIds(await exported("?ids=999999"))).toEqual([]);
    const bad = await exported("?ids=x");
    expect(bad.status).toBe(400);
    expect(bad.body.validation_errors).toEqual({ ids: ["A valid integer is required."] });
  });

  it("answers JSON_MIN as the converter writes it: one record per annotation kept", async () => {
    const json = (await exported("?download_all_tasks=true")).body;
    const answer = await exported("?exportType=JSON_MIN&download_all_tasks=true");
    expect(answer.status, answer.text).toBe(200);
    expect(answer.headers.get("filename")).toMatch(/\.json$/);
    const [b, a, c] = json as { id: number; annotations: Record<string, unknown>[] }[];
    const record = (task: typeof b, outputs: Record<string, unknown>) => {
      const annotation = task?.annotations[0];
      return {
        ...(task as unknown as { data: object }).data,
        id: task?.id,
        ...outputs,
        annotator: annotation ? annotation.completed_by : null,
        annotation_id: annotation?.id ?? null,
        created_at: annotation?.created_at ?? null,
        updated_at: annotation?.updated_at ?? null,
        lead_time: annotation?.lead_time ?? null,
      };
    };
    const records = [
      record(b, { sentiment: "pos", note: 'fine, "really"' }),
      record(a, { sentiment: "neg" }),
      record(c, {}),
    ];
    // The cancelled annotation of the fourth task gives no record.
    // Slashes escaped, as Label Studio's ujson writes them.
    const text = `[\n${records.map((r) => JSON.stringify(r, null, 2)).join(",\n")}\n]`;
    expect(answer.text).toBe(text.replaceAll("/", "\\/"));
    const none = await exported(`?exportType=JSON_MIN&ids=${ids[3]}`);
    expect(none.text).toBe("[\n\n]");
  });

  it("answers CSV and TSV as the converter writes them: sorted columns, Python's quoting", async () => {
    const json = (await exported("?download_all_tasks=true")).body;
    const [b, a, c] = json as {
      id: number;
      annotations: { id: number; created_at: string; updated_at: string }[];
    }[];
    const csv = await exported("?exportType=CSV&download_all_tasks=true");
    expect(csv.status, csv.text).toBe(200);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(csv.headers.get("filename")).toMatch(/\.csv$/);
    const user = tenant.user.id;
    const [ab] = b?.annotations ?? [];
    const [aa] = a?.annotations ?? [];
    const rows = [
      [
        "annotation_id",
        "annotator",
        "created_at",
        "extra",
        "id",
        "lead_time",
        "note",
        "sentiment",
        "text",
        "updated_at",
      ].map((h) => `"${h}"`),
      [
        `${ab?.id}`,
        `"${user}"`,
        `"${ab?.created_at}"`,
        '"{""n"":[1,2],""url"":""s3:\\/\\/bucket\\/b.txt""}"',
        `${b?.id}`,
        "2.5",
        '"fine, ""really"""',
        '"pos"',
        '"b"',
        `"${ab?.updated_at}"`,
      ],
      [
        `${aa?.id}`,
        `"${user}"`,
        `"${aa?.created_at}"`,
        '""',
        `${a?.id}`,
        "3.0",
        '""',
        '"neg"',
        '"a"',
        `"${aa?.updated_at}"`,
      ],
      ['""', '""', '""', '""', `${c?.id}`, '""', '""', '""', '"c"', '""'],
    ];
    expect(csv.text).toBe(rows.map((cells) => `${cells.join(",")}\r\n`).join(""));
    const tsv = await exported("?exportType=TSV&download_all_tasks=true");
    expect(tsv.headers.get("content-type")).toBe("text/tab-separated-values; charset=utf-8");
    expect(tsv.headers.get("filename")).toMatch(/\.csv$/);
    expect(tsv.text).toBe(rows.map((cells) => `${cells.join("\t")}\r\n`).join(""));
  });

  it("refuses the formats Taskport does not make, unknown types and bad flags with a 400 naming them", async () => {
    const coco = await exported("?exportType=COCO");
    expect(coco.status).toBe(400);
    expect(Object.keys(coco.body)).toEqual(VALIDATION_KEYS);
    expect(coco.body.validation_errors).toEqual({
      exportType: ["Taskport does not make COCO exports; it makes JSON, JSON_MIN, CSV and TSV."],
    });
    const unknown = await exported("?export_type=XML");
    expect(unknown.status).toBe(400);
    expect(unknown.body.validation_errors).toEqual({
      export_type: ['"XML" is not an export format; use one of JSON, JSON_MIN, CSV and TSV.'],
    });
    const flag = await exported("?download_all_tasks=maybe");
    expect(flag.status).toBe(400);
    expect(flag.body.validation_errors).toEqual({
      download_all_tasks: ["Must be a valid boolean."],
    });
  });

  it("is a 404 for another organization's project, and a 401 without credentials", async () => {
    const other = await createTenant(rest.tdb.db);
    for (const path of [
      `/api/projects/${project}/export`,
      `/api/projects/${project}/export/formats`,
    ]) {
      const answer = await send(rest.base, "GET", path, { headers: other.headers });
      expect(answer.status, path).toBe(404);
      expect(answer.body.detail).toBe("No Project matches the given query.");
      expect((await send(rest.base, "GET", path)).status).toBe(401);
    }
  });

  it("reads a project of several pages a page at a time, every task once, in id order", async () => {
    const total = EXPORT_PAGE_SIZE * 2 + 7;
    const items = Array.from({ length: total }, (_, i) => ({
      data: { text: `t${i}` },
      annotations: [{ result: [i % 2 ? POS : NEG] }],
    }));
    const imported = await call(
      "POST",
      `/api/projects/${project}/import?return_task_ids=true`,
      items,
    );
    expect(imported.status, imported.text).toBe(201);
    const file = await exportProject(rest.tdb.db, tenant.actor, project, {
      typeField: "exportType",
      exportType: "JSON",
      downloadAllTasks: false,
    });
    const chunks: string[] = [];
    for await (const chunk of file.body) chunks.push(chunk);
    // "[", one chunk per page of tasks, "]".
    expect(chunks.length).toBe(2 + Math.ceil((total + 3) / EXPORT_PAGE_SIZE));
    const tasks = JSON.parse(chunks.join("")) as { id: number }[];
    expect(tasks.map((t) => t.id)).toEqual([ids[0], ids[1], ids[3], ...imported.body.task_ids]);
    const csv = await exported("?exportType=CSV");
    expect(csv.text.split("\r\n").length).toBe(1 + total + 2 + 1);
  });
});

describe("GET /api/projects/{id}/export/formats", () => {
  it("lists Label Studio's formats, those Taskport makes first, the others disabled", async () => {
    const answer = await call("GET", `/api/projects/${project}/export/formats`);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.map((f: { name: string }) => f.name)).toEqual([
      "JSON",
      "JSON_MIN",
      "CSV",
      "TSV",
      "CONLL2003",
      "COCO",
      "COCO_WITH_IMAGES",
      "VOC",
      "YOLO",
      "YOLO_WITH_IMAGES",
      "YOLO_OBB",
      "YOLO_OBB_WITH_IMAGES",
      "BRUSH_TO_NUMPY",
      "BRUSH_TO_PNG",
      "ASR_MANIFEST",
      "BRUSH_TO_COCO",
    ]);
    expect(Object.keys(answer.body[0])).toEqual(["title", "description", "link", "name"]);
    expect(answer.body[3].disabled).toBeUndefined();
    expect(Object.keys(answer.body[4])).toEqual([
      "title",
      "description",
      "link",
      "tags",
      "name",
      "disabled",
    ]);
    expect(answer.body.slice(4).every((f: { disabled?: boolean }) => f.disabled === true)).toBe(
      true,
    );
    // The same list over tRPC, within the organization only.
    expect(await tenant.caller.project.exportFormats({ id: project })).toEqual(answer.body);
    const other = await createTenant(rest.tdb.db);
    await expect(other.caller.project.exportFormats({ id: project })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });
});
