/**
 * The task JSON limits and the import readers' own bounds over real HTTP, in every format
 * where they apply: nesting, string length and size each a 400 that names the item (or the
 * line), nothing written, and the project's task list still loads afterwards. Also the bound
 * on the label-config cache, by characters rather than by count.
 */
import { count } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fileUploads, tasks } from "../src/db/schema";
import { MAX_JSON_OBJECT_BYTES, MAX_RECORD_CHARS } from "../src/import-formats";
import { LABEL_CONFIG_CACHE_CHARS, labelConfigCacheSize, objectTagsOf } from "../src/services/task";
import {
  type ApiServer,
  createTenant,
  createTestDatabase,
  startApiServer,
  type TestDatabase,
} from "./support";

let tdb: TestDatabase;
let server: ApiServer;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let projectId: number;

beforeAll(async () => {
  tdb = await createTestDatabase();
  server = await startApiServer({
    db: tdb.db,
    maxBodyBytes: 64 * 1024,
    maxImportBytes: 64 * 1024 * 1024,
    logError: () => {},
  });
});
afterAll(async () => {
  await server?.close();
  await tdb?.close();
});
beforeEach(async () => {
  await tdb.truncate();
  tenant = await createTenant(tdb.db);
  projectId = (
    await tenant.caller.project.create({
      title: "Limits",
      label_config: '<View><Text name="text" value="$text"/></View>',
    })
  ).id;
});

async function post(body: RequestInit["body"], headers: Record<string, string> = {}) {
  const res = await fetch(`${server.base}/api/projects/${projectId}/import`, {
    method: "POST",
    headers: { authorization: `Token ${tenant.token}`, ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) };
}

function file(name: string, content: string): FormData {
  const form = new FormData();
  form.append("file", new Blob([content]), name);
  return form;
}

/** A 400 whose first message matches `message`; nothing written; the task list still loads. */
async function expectRefused(answer: Awaited<ReturnType<typeof post>>, message: RegExp) {
  expect(answer.status, answer.text.slice(0, 300)).toBe(400);
  const [first] = answer.body.validation_errors.non_field_errors as string[];
  expect(first?.split(" :: ")[0]).toMatch(message);
  const [written] = await tdb.db.select({ n: count() }).from(tasks);
  expect(written?.n).toBe(0);
  const [uploads] = await tdb.db.select({ n: count() }).from(fileUploads);
  expect(uploads?.n).toBe(0);
  const list = await fetch(`${server.base}/api/tasks/?project=${projectId}`, {
    headers: { authorization: `Token ${tenant.token}` },
  });
  expect(list.status).toBe(200);
  expect(((await list.json()) as { total: number }).total).toBe(0);
}

// Written as text: the test's own JSON.stringify must not be what overflows.
const deepText = (depth: number) => `${'{"a":'.repeat(depth)}"leaf"${"}".repeat(depth)}`;
const deepItem = (depth: number) => `{"data": {"text": "x", "deep": ${deepText(depth)}}}`;
const longString = "y".repeat(6_000_000);
const manyKeys = Object.fromEntries(Array.from({ length: 100_001 }, (_, i) => [`k${i}`, i]));

describe("task JSON limits on every import format", () => {
  for (const depth of [1_000, 4_000]) {
    it(`a task nested ${depth} deep: JSON body, JSONL and JSON files`, async () => {
      const tooDeep = /^Error at item 1: data\.deep(\.a)+ is nested deeper than 100 levels\.$/;
      const array = `[{"data": {"text": "fine"}}, ${deepItem(depth)}]`;
      await expectRefused(await post(array, { "content-type": "application/json" }), tooDeep);
      await expectRefused(await post(file("tasks.json", array)), tooDeep);
      const jsonl = `{"data": {"text": "fine"}}\n${deepItem(depth)}\n`;
      await expectRefused(await post(file("tasks.jsonl", jsonl)), tooDeep);
    });
  }

  it("a 6,000,000-character string: JSON body, JSONL, CSV, TSV and TXT files", async () => {
    const tooLong =
      /^Error at item 1: The string at data\.text is longer than 5000000 characters\.$/;
    const items = [{ data: { text: "fine" } }, { data: { text: longString } }];
    await expectRefused(
      await post(JSON.stringify(items), { "content-type": "application/json" }),
      tooLong,
    );
    await expectRefused(
      await post(file("tasks.jsonl", items.map((i) => JSON.stringify(i)).join("\n"))),
      tooLong,
    );
    await expectRefused(await post(file("tasks.csv", `text\nfine\n${longString}\n`)), tooLong);
    await expectRefused(await post(file("tasks.tsv", `text\nfine\n${longString}\n`)), tooLong);
    await expectRefused(await post(file("tasks.txt", `fine\n${longString}\n`)), tooLong);
  });

  it("100,001 keys: JSON body, JSON file and CSV columns", async () => {
    const tooMany =
      /^Error at item 1: data has more than 100000 values and keys in all; split it up\.$/;
    const items = JSON.stringify([
      { data: { text: "fine" } },
      { data: { text: "x", ...manyKeys } },
    ]);
    await expectRefused(await post(items, { "content-type": "application/json" }), tooMany);
    await expectRefused(await post(file("tasks.json", items)), tooMany);
    const columns = ["text", ...Object.keys(manyKeys)];
    const csv = `${columns.join(",")}\n${columns.map(() => "1").join(",")}\n`;
    await expectRefused(
      await post(file("tasks.csv", csv)),
      /^Error at item 0: data has more than 100000/,
    );
  });
});

describe("the import readers' own bounds", () => {
  it("a CSV or TSV record longer than the bound: 400 naming its line", async () => {
    const open = `text\nfine\n"${"z".repeat(MAX_RECORD_CHARS + 10)}\n`;
    await expectRefused(
      await post(file("tasks.csv", open)),
      new RegExp(
        `^tasks\\.csv: Line 3 of the CSV starts a record longer than ${MAX_RECORD_CHARS} characters`,
      ),
    );
    await expectRefused(
      await post(file("tasks.tsv", open)),
      new RegExp(`^tasks\\.tsv: Line 3 of the TSV starts a record longer than ${MAX_RECORD_CHARS}`),
    );
  });

  it("a JSON import that is not an array is read whole only up to its bound", async () => {
    const object = JSON.stringify({
      data: { text: "x" },
      meta: { pad: "p".repeat(MAX_JSON_OBJECT_BYTES) },
    });
    const expected = new RegExp(
      `^A JSON import that is not an array is read whole, up to ${MAX_JSON_OBJECT_BYTES} bytes`,
    );
    await expectRefused(await post(object, { "content-type": "application/json" }), expected);
    await expectRefused(
      await post(file("task.json", object)),
      /^task\.json: A JSON import that is not an array/,
    );
  });

  it("the label-config cache holds configs up to a number of characters, not a number of configs", () => {
    const config = (i: number) =>
      `<View><Text name="t${i}" value="$text${i}"/><!--${"c".repeat(999_900)}--></View>`;
    for (let i = 0; i < 12; i++) {
      expect(objectTagsOf(config(i)).map((tag) => tag.variable)).toEqual([`text${i}`]);
      expect(labelConfigCacheSize().chars).toBeLessThanOrEqual(LABEL_CONFIG_CACHE_CHARS);
    }
    expect(labelConfigCacheSize().configs).toBeLessThanOrEqual(4);
    // A config above the whole budget is answered, not kept.
    const huge = `<View><Text name="h" value="$h"/><!--${"c".repeat(LABEL_CONFIG_CACHE_CHARS)}--></View>`;
    const before = labelConfigCacheSize();
    expect(objectTagsOf(huge).map((tag) => tag.variable)).toEqual(["h"]);
    expect(labelConfigCacheSize()).toEqual(before);
  });
});
