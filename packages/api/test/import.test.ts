import { Readable } from "node:stream";
import { TRPCError } from "@trpc/server";
import { asc, count, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { createPostgresDb } from "../src/db";
import { annotations, fileUploads, predictions, projects, tasks } from "../src/db/schema";
import { type ImportFormat, readItems } from "../src/import-formats";
import { createCaller, createTRPCContext } from "../src/index";
import { importTasks } from "../src/services/import";
import { createTestDatabase, type TestDatabase } from "./support/db";
import { createTenant } from "./support/fixtures";

let tdb: TestDatabase;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let projectId: number;

const CONFIG =
  '<View><Text name="text" value="$text"/><Choices name="c" toName="text"><Choice value="a"/></Choices></View>';
const REGION = { from_name: "c", to_name: "text", type: "choices", value: { choices: ["a"] } };

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.close();
});
beforeEach(async () => {
  await tdb.truncate();
  tenant = await createTenant(tdb.db);
  const project = await tenant.caller.project.create({
    title: "Reviews",
    label_config: CONFIG,
    maximum_annotations: 2,
  });
  projectId = project.id;
});

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

async function projectTasks(id = projectId) {
  return tdb.db.select().from(tasks).where(eq(tasks.projectId, id)).orderBy(asc(tasks.innerId));
}

async function projectRow(id = projectId) {
  const [row] = await tdb.db.select().from(projects).where(eq(projects.id, id));
  return row;
}

async function rowCount(
  table: typeof tasks | typeof annotations | typeof predictions | typeof fileUploads,
) {
  const [row] = await tdb.db.select({ n: count() }).from(table);
  return row?.n ?? 0;
}

function fileSource(text: string, format: ImportFormat, name = `upload.${format}`) {
  const bytes = Buffer.from(text);
  // Split into small chunks so that the readers meet records cut across chunk boundaries.
  const chunks = [];
  for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.subarray(i, i + 7));
  return {
    items: readItems(Readable.from(chunks), format),
    file: { name, format, size: () => bytes.length },
  };
}

/** Runs an import that must fail and returns its error's code and non-field messages. */
async function importFailure(run: () => Promise<unknown>) {
  const error = await run().then(
    () => {
      throw new Error("the import was expected to fail");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCError);
  const trpc = error as TRPCError;
  const messages =
    trpc.cause instanceof z.ZodError ? z.flattenError(trpc.cause).formErrors : [trpc.message];
  return { code: trpc.code, messages };
}

describe("task.import", () => {
  it("imports items with inline annotations and predictions, and derives the counters", async () => {
    const result = await tenant.caller.task.import({
      project: projectId,
      returnTaskIds: true,
      items: [
        {
          data: { text: "two done" },
          meta: { source: "a" },
          annotations: [
            { result: [REGION], completed_by: tenant.user.id, id: 77, ground_truth: false },
            { result: [], was_cancelled: false, lead_time: 1.5 },
          ],
          predictions: [{ result: [REGION], score: 0.75, model_version: "m1" }],
        },
        {
          data: { text: "one done, one cancelled" },
          annotations: [{ result: [] }, { result: [], was_cancelled: true, completed_by: 999999 }],
        },
        { text: "flat", extra: 1 },
        {
          data: { text: "predicted twice" },
          predictions: [{ result: [] }, { result: [], score: 0.1 }],
        },
      ],
    });
    expect(result).toMatchObject({
      task_count: 4,
      annotation_count: 4,
      prediction_count: 3,
      file_upload_ids: [],
      could_be_tasks_list: false,
      found_formats: [],
      data_columns: [],
    });
    const rows = await projectTasks();
    expect(result.task_ids).toEqual(rows.map((r) => r.id));
    expect(
      rows.map((r) => [
        r.innerId,
        r.totalAnnotations,
        r.cancelledAnnotations,
        r.totalPredictions,
        r.isLabeled,
        r.overlap,
        r.fileUploadId,
      ]),
    ).toEqual([
      [1, 2, 0, 1, true, 2, null],
      [2, 1, 1, 0, false, 2, null],
      [3, 0, 0, 0, false, 2, null],
      [4, 0, 0, 2, false, 2, null],
    ]);
    expect(rows[0]?.meta).toEqual({ source: "a" });
    expect(rows[2]?.data).toEqual({ text: "flat", extra: 1 });
    const storedAnnotations = await tdb.db.select().from(annotations).orderBy(asc(annotations.id));
    // Label Studio marks imported annotations as ground truth unless they say otherwise, and
    // keeps their exported id as import_id.
    expect(
      storedAnnotations.map((a) => [
        a.taskId,
        a.wasCancelled,
        a.completedBy,
        a.groundTruth,
        a.importId,
      ]),
    ).toEqual([
      [rows[0]?.id, false, tenant.user.id, false, 77],
      [rows[0]?.id, false, tenant.user.id, true, null],
      [rows[1]?.id, false, tenant.user.id, true, null],
      // A user id outside the organization becomes the importing user.
      [rows[1]?.id, true, tenant.user.id, true, null],
    ]);
    expect(storedAnnotations[0]?.result).toEqual([REGION]);
    expect(storedAnnotations[1]?.leadTime).toBe(1.5);
    const storedPredictions = await tdb.db.select().from(predictions).orderBy(asc(predictions.id));
    expect(storedPredictions.map((p) => [p.taskId, p.score, p.modelVersion])).toEqual([
      [rows[0]?.id, 0.75, "m1"],
      [rows[3]?.id, null, ""],
      [rows[3]?.id, expect.closeTo(0.1, 5), ""],
    ]);
    expect(await projectRow()).toMatchObject({ taskNumber: 4, lastInnerId: 4 });
    // The task list's sums see the imported counters.
    const list = await tenant.caller.task.list({ project: projectId });
    expect(list).toMatchObject({ total: 4, total_annotations: 3, total_predictions: 3 });
  });

  it("refuses inline results that do not fit the label config, by item, and writes nothing", async () => {
    const refused = await tenant.caller.task
      .import({
        project: projectId,
        items: [
          { data: { text: "fine" }, annotations: [{ result: [REGION] }] },
          { data: { text: "bad" }, annotations: [{ result: [{ ...REGION, from_name: "nope" }] }] },
          { data: { text: "bad too" }, predictions: [{ result: [{ ...REGION, type: "labels" }] }] },
          { data: { text: "bad score" }, predictions: [{ result: [REGION], score: 7 }] },
        ],
      })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(refused).toBeInstanceOf(TRPCError);
    const messages = ((refused as TRPCError).cause as z.ZodError).issues.map((i) => i.message);
    expect(messages).toEqual([
      expect.stringMatching(
        /^Error at item 1: annotations\[0\]\.result: Region 0: 'from_name' 'nope' not found in configuration :: /,
      ),
      expect.stringMatching(
        /^Error at item 2: predictions\[0\]\.result: Region 0: Type 'labels' does not match expected type 'choices' for control 'c' :: /,
      ),
      expect.stringMatching(
        /^Error at item 3: predictions\[0\]\.score: Score must be between 0.00 and 1.00 inclusive, got 7 :: /,
      ),
    ]);
    expect(await projectTasks()).toEqual([]);
  });

  it("continues the project's inner_id sequence after single creates", async () => {
    await tenant.caller.task.create({ data: { text: "first" }, project: projectId });
    await tenant.caller.task.import({ project: projectId, items: [{ text: "a" }, { text: "b" }] });
    await tenant.caller.task.create({ data: { text: "last" }, project: projectId });
    expect((await projectTasks()).map((r) => r.innerId)).toEqual([1, 2, 3, 4]);
  });

  it("keeps every character of data and meta: backslashes, \\N, tabs, newlines, quotes, unicode", async () => {
    const texts = [
      "back\\slash \\\\ double \\N \\t \\n",
      "tab\there, newline\nthere, return\rthere",
      'quotes " and \\" and \\\\"',
      "\\N",
      "unicode é 😀 \u2028 \u00a0 \u001f",
      "",
    ];
    const items = texts.map((text, i) => ({
      data: { text, nested: { [`key\\${i}\t`]: [text, i, null, true] } },
      meta: { note: text },
    }));
    await tenant.caller.task.import({ project: projectId, items });
    const rows = await projectTasks();
    expect(rows.map((r) => ({ data: r.data, meta: r.meta }))).toEqual(
      items.map(({ data, meta }) => ({ data, meta })),
    );
  });

  it("a bad item in the middle of 10,000 aborts the whole import with its number and changes nothing", async () => {
    await tenant.caller.task.create({ data: { text: "before" }, project: projectId });
    const before = await projectRow();
    const items: unknown[] = range(10_000).map((i) => ({ data: { text: `t${i}` } }));
    items[7_000] = { data: { title: "no text key" } };
    const { code, messages } = await importFailure(() =>
      tenant.caller.task.import({ project: projectId, items }),
    );
    expect(code).toBe("BAD_REQUEST");
    expect(messages).toEqual([
      `Error at item 7000: "text" key is expected in task data [assume: item["data"] = task root with values] :: {"data":{"title":"no text key"}}`,
    ]);
    expect(await projectRow()).toEqual(before);
    expect((await projectTasks()).map((r) => r.innerId)).toEqual([1]);
  });

  it("reports every bad item, at most 100, with Label Studio's messages", async () => {
    const items: unknown[] = [
      { text: "ok" },
      { title: "flat, no text" },
      "a string",
      { data: null },
      { data: [1] },
      { data: { text: "x" }, meta: "m" },
      { data: { text: { a: 1 } } },
      { data: { text: "x" }, annotations: [{ result: "r" }] },
      { data: { text: "x" }, predictions: [{ score: "high" }] },
      { data: { text: "bad\u0000" } },
      ...range(150).map(() => ({ nope: 1 })),
    ];
    const { messages } = await importFailure(() =>
      tenant.caller.task.import({ project: projectId, items }),
    );
    expect(messages).toHaveLength(100);
    expect(messages.slice(0, 9)).toEqual([
      `Error at item 1: "text" key is expected in task data [assume: item as is = task root with values]  :: {"title":"flat, no text"}`,
      `Error at item 2: Task[data] must be dict or list :: "a string"`,
      `Error at item 3: data: This field may not be null. :: {"data":null}`,
      `Error at item 4: Task[data] must be dict or list :: {"data":[1]}`,
      `Error at item 5: Task[meta] must be dict or list :: {"data":{"text":"x"},"meta":"m"}`,
      `Error at item 6: data["text"]={"a":1} is of type 'object', but the object tag Text expects the following types: string, number, array [assume: item["data"] = task root with values] :: {"data":{"text":{"a":1}}}`,
      `Error at item 7: annotations[0].result must be a list :: {"data":{"text":"x"},"annotations":[{"result":"r"}]}`,
      `Error at item 8: predictions[0].score must be a number :: {"data":{"text":"x"},"predictions":[{"score":"high"}]}`,
      `Error at item 9: The string at data.text contains U+0000 (NUL), which cannot be stored. :: {"data":{"text":"bad\\u0000"}}`,
    ]);
    expect(await rowCount(tasks)).toBe(0);
  });

  it("commitToProject false validates and counts, and writes nothing", async () => {
    const result = await tenant.caller.task.import({
      project: projectId,
      commitToProject: false,
      returnTaskIds: true,
      items: [{ data: { text: "a" }, annotations: [{ result: [] }] }, { text: "b" }],
    });
    expect(result).toMatchObject({ task_count: 2, annotation_count: 1, prediction_count: 0 });
    expect(result.task_ids).toBeUndefined();
    expect(await rowCount(tasks)).toBe(0);
    expect(await rowCount(annotations)).toBe(0);
    expect(await projectRow()).toMatchObject({ taskNumber: 0, lastInnerId: 0 });
    const { messages } = await importFailure(() =>
      tenant.caller.task.import({ project: projectId, commitToProject: false, items: [{ x: 1 }] }),
    );
    expect(messages[0]).toMatch(/^Error at item 0: "text" key is expected/);
  });

  it("answers 404 for another organization's project and 400 for an empty import", async () => {
    const other = await createTenant(tdb.db);
    const failure = await importFailure(() =>
      other.caller.task.import({ project: projectId, items: [{ text: "x" }] }),
    );
    expect(failure).toEqual({
      code: "NOT_FOUND",
      messages: ["No Project matches the given query."],
    });
    const empty = await importFailure(() =>
      tenant.caller.task.import({ project: projectId, items: [] }),
    );
    expect(empty.code).toBe("BAD_REQUEST");
    expect(empty.messages[0]).toMatch(/^No tasks found/);
  });

  it("refuses more than 1,000,000 tasks with a clear 400", async () => {
    function* many() {
      for (let i = 0; i <= 1_000_000; i++) yield { text: "x" };
    }
    const { code, messages } = await importFailure(() =>
      importTasks(tdb.db, tenant.actor, {
        project: projectId,
        sources: [{ items: many() }],
        commitToProject: false,
      }),
    );
    expect(code).toBe("BAD_REQUEST");
    expect(messages).toEqual([
      "An import holds at most 1,000,000 tasks: split this one into several requests.",
    ]);
  });
});

describe("import formats", () => {
  async function importFile(text: string, format: ImportFormat) {
    return importTasks(tdb.db, tenant.actor, {
      project: projectId,
      sources: [fileSource(text, format)],
      returnTaskIds: true,
    });
  }

  it("CSV: header row, quoted fields with commas, quotes and newlines, unicode", async () => {
    const csv =
      '\uFEFFtext,lang\n"Hello, world",en\n"She said ""hi""\nthen left",en\nКот 🐈 日本語,multi\n';
    const result = await importFile(csv, "csv");
    expect(result).toMatchObject({
      task_count: 3,
      found_formats: [".csv"],
      could_be_tasks_list: true,
      data_columns: ["lang", "text"],
    });
    const rows = await projectTasks();
    expect(rows.map((r) => r.data)).toEqual([
      { text: "Hello, world", lang: "en" },
      { text: 'She said "hi"\nthen left', lang: "en" },
      { text: "Кот 🐈 日本語", lang: "multi" },
    ]);
    const [upload] = await tdb.db.select().from(fileUploads);
    expect(result.file_upload_ids).toEqual([upload?.id]);
    expect(upload).toMatchObject({
      fileName: "upload.csv",
      format: ".csv",
      size: Buffer.byteLength(csv),
    });
    expect(rows.every((r) => r.fileUploadId === upload?.id)).toBe(true);
  });

  it("TSV: header row, quoting and unicode", async () => {
    const tsv = 'text\tscore\n"tab\tinside"\t1\nÜber café\t2\r\n';
    await importFile(tsv, "tsv");
    expect((await projectTasks()).map((r) => r.data)).toEqual([
      { text: "tab\tinside", score: "1" },
      { text: "Über café", score: "2" },
    ]);
  });

  it("a CSV row with too many fields names the problem", async () => {
    const { code, messages } = await importFailure(() => importFile("text\na,b\n", "csv"));
    expect(code).toBe("BAD_REQUEST");
    expect(messages[0]).toMatch(/^upload\.csv: The CSV is not valid: /);
    expect(await rowCount(fileUploads)).toBe(0);
  });

  it("JSON: an array streamed item by item, or a single task object", async () => {
    await importFile(
      JSON.stringify([{ data: { text: "ü" }, predictions: [{ result: [] }] }, { text: "b" }]),
      "json",
    );
    await importFile('  {"data": {"text": "single"}}', "json");
    const rows = await projectTasks();
    expect(rows.map((r) => [r.innerId, r.data, r.totalPredictions])).toEqual([
      [1, { text: "ü" }, 1],
      [2, { text: "b" }, 0],
      [3, { text: "single" }, 0],
    ]);
    const bad = await importFailure(() => importFile('[{"text": "a"}, {"text": ', "json"));
    expect(bad.messages[0]).toMatch(/^upload\.json: The JSON is not valid/);
  });

  it("JSON arrays: items end only outside strings and nesting; a malformed array is named", async () => {
    const text = `\uFEFF[ {"data": {"text": "a, ] } [ \\" \\\\"}}, {"text": "b", "list": [1, [2], {"x": "]"}]} ,{"text":"c"}]  `;
    const read = async (source: string) => {
      const out: unknown[] = [];
      for await (const item of fileSource(source, "json").items) out.push(item);
      return out;
    };
    expect(await read(text)).toEqual(JSON.parse(text.slice(1)));
    expect(await read("[]")).toEqual([]);
    for (const [bad, detail] of [
      ["[1,]", "item 1 is missing"],
      ["[,1]", "item 0 is missing"],
      ['[{"a": 1}}]', 'unexpected "}" in item 0'],
      ["[1] 2", 'unexpected text after the closing "]"'],
      ['[{"a": "]', "the array is not closed"],
      ['[{"a": 1} {"b": 2}]', "item 0: "],
    ]) {
      await expect(read(bad as string)).rejects.toThrow(`The JSON is not valid: ${detail}`);
    }
  });

  it("JSONL: one task per line, blank lines skipped, a bad line named", async () => {
    await importFile('{"text": "a"}\n\n{"data": {"text": "b"}}\r\n', "jsonl");
    expect((await projectTasks()).map((r) => r.data)).toEqual([{ text: "a" }, { text: "b" }]);
    const bad = await importFailure(() => importFile('{"text": "a"}\n{oops}\n', "jsonl"));
    expect(bad.messages[0]).toMatch(/^upload\.jsonl: Line 2 is not valid JSON/);
  });

  it("TXT: one task per line under the config's only variable", async () => {
    // Lines end as readline ends them: "\n", "\r\n" or a lone "\r"; a last line needs none.
    await importFile(
      "\uFEFFfirst line\r\nsecond, with comma\n\nthird ☃\rfourth\r\r\n  \nlast",
      "txt",
    );
    expect((await projectTasks()).map((r) => r.data)).toEqual([
      { text: "first line" },
      { text: "second, with comma" },
      { text: "third ☃" },
      { text: "fourth" },
      { text: "last" },
    ]);
    const images = await tenant.caller.project.create({
      title: "Images",
      label_config: '<View><Image name="img" value="$image"/></View>',
    });
    await importTasks(tdb.db, tenant.actor, {
      project: images.id,
      sources: [fileSource("https://example.com/1.jpg\n", "txt")],
    });
    expect((await projectTasks(images.id)).map((r) => r.data)).toEqual([
      { image: "https://example.com/1.jpg" },
    ]);
  });

  it("several files in one request: each its own upload row, numbered in order", async () => {
    const result = await importTasks(tdb.db, tenant.actor, {
      project: projectId,
      sources: [
        fileSource("text\na\n", "csv", "one.csv"),
        fileSource("text\nb\nc\n", "tsv", "two.tsv"),
      ],
    });
    expect(result).toMatchObject({ task_count: 3, found_formats: [".csv", ".tsv"] });
    const rows = await projectTasks();
    expect(rows.map((r) => [r.innerId, r.fileUploadId])).toEqual([
      [1, result.file_upload_ids[0]],
      [2, result.file_upload_ids[1]],
      [3, result.file_upload_ids[1]],
    ]);
  });
});

describe("import under concurrency", () => {
  it("imports and single creates running together keep inner_id dense and unique", async () => {
    // On PostgreSQL a second pool is a second set of connections, as a second server process
    // would have; PGlite has one connection.
    const second = tdb.url ? createPostgresDb(tdb.url, { max: 10 }) : tdb.db;
    try {
      const other = createCaller(createTRPCContext({ db: second, headers: tenant.headers }));
      const imports = range(4).map((k) =>
        (k % 2 ? other : tenant.caller).task.import({
          project: projectId,
          items: range(6_000).map((i) => ({ text: `import ${k} item ${i}` })),
        }),
      );
      const creates = range(100).map((i) =>
        (i % 2 ? other : tenant.caller).task.create({
          data: { text: `single ${i}` },
          project: projectId,
        }),
      );
      const failing = tenant.caller.task.import({
        project: projectId,
        items: [...range(5_500).map((i) => ({ text: `doomed ${i}` })), { nope: true }],
      });
      const outcomes = await Promise.allSettled([...imports, ...creates, failing]);
      expect(outcomes.slice(0, -1).every((o) => o.status === "fulfilled")).toBe(true);
      expect(outcomes.at(-1)?.status).toBe("rejected");
      const total = 4 * 6_000 + 100;
      const rows = await projectTasks();
      expect(rows.map((r) => r.innerId)).toEqual(range(total));
      // Each import's tasks are one contiguous block of inner_ids, in item order.
      for (const k of range(4)) {
        const mine = rows.filter((r) => String(r.data.text).startsWith(`import ${k} `));
        expect(mine).toHaveLength(6_000);
        const firstId = mine[0]?.innerId ?? 0;
        expect(mine.map((r) => r.innerId)).toEqual(range(6_000).map((i) => firstId + i - 1));
      }
      expect(await projectRow()).toMatchObject({ taskNumber: total, lastInnerId: total });
    } finally {
      if (second !== tdb.db) await second.$close();
    }
  });
});
