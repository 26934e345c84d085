import { TASK_FIELDS } from "@taskport/schema";
import { TRPCError } from "@trpc/server";
import { count } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { tasks } from "../src/db/schema";
import { createTestDatabase, type TestDatabase } from "./support/db";
import { createTenant } from "./support/fixtures";

let tdb: TestDatabase;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let projectId: number;

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
    label_config:
      '<View><Text name="text" value="$text"/><Choices name="c" toName="text"><Choice value="a"/></Choices></View>',
    maximum_annotations: 3,
  });
  projectId = project.id;
});

async function taskCount(): Promise<number> {
  const [row] = await tdb.db.select({ n: count() }).from(tasks);
  return row?.n ?? 0;
}

/** Runs a create that must fail; returns its code, message and flattened field errors. */
async function failure(input: unknown) {
  const before = await taskCount();
  // biome-ignore lint/suspicious/noExplicitAny: deliberately sending what the types forbid
  const error = await tenant.caller.task.create(input as any).then(
    () => {
      throw new Error("expected the create to fail");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCError);
  const trpcError = error as TRPCError;
  expect(await taskCount()).toBe(before);
  const flat = trpcError.cause instanceof z.ZodError ? z.flattenError(trpcError.cause) : null;
  const fieldErrors = flat?.fieldErrors as Record<string, string[] | undefined> | undefined;
  return {
    code: trpcError.code,
    message: trpcError.message,
    fieldErrors,
    formErrors: flat?.formErrors,
  };
}

describe("task.create success", () => {
  it("returns the 18 fields of the reference, in order, with their computed values", async () => {
    const before = Date.now();
    const task = await tenant.caller.task.create({ data: { text: "hello" }, project: projectId });
    expect(Object.keys(task)).toEqual([
      "id",
      "data",
      "meta",
      "created_at",
      "updated_at",
      "is_labeled",
      "overlap",
      "inner_id",
      "total_annotations",
      "cancelled_annotations",
      "total_predictions",
      "comment_count",
      "unresolved_comment_count",
      "last_comment_updated_at",
      "project",
      "updated_by",
      "file_upload",
      "comment_authors",
    ]);
    expect(Object.keys(task)).toEqual(TASK_FIELDS);
    expect(task).toMatchObject({
      data: { text: "hello" },
      meta: {},
      is_labeled: false,
      overlap: 3,
      inner_id: 1,
      total_annotations: 0,
      cancelled_annotations: 0,
      total_predictions: 0,
      comment_count: 0,
      unresolved_comment_count: 0,
      last_comment_updated_at: null,
      project: projectId,
      updated_by: null,
      file_upload: null,
      comment_authors: [],
    });
    expect(typeof task.id).toBe("number");
    expect(task.created_at).toBeInstanceOf(Date);
    expect(task.created_at.getTime()).toBeGreaterThanOrEqual(before - 5_000);
    expect(task.updated_at).toBeInstanceOf(Date);
  });

  it("numbers inner_id from 1 per project", async () => {
    const other = await tenant.caller.project.create({ title: "Other" });
    const a = await tenant.caller.task.create({ data: { text: "a" }, project: projectId });
    const b = await tenant.caller.task.create({ data: { text: "b" }, project: projectId });
    const c = await tenant.caller.task.create({ data: { anything: 1 }, project: other.id });
    expect([a.inner_id, b.inner_id, c.inner_id]).toEqual([1, 2, 1]);
  });

  it("keeps extra keys and meta, and takes overlap from the request when given", async () => {
    const task = await tenant.caller.task.create({
      data: { text: "x", extra: { nested: [1, 2] } },
      project: projectId,
      meta: { source: "s3" },
      overlap: 2,
    });
    expect(task.data).toEqual({ text: "x", extra: { nested: [1, 2] } });
    expect(task.meta).toEqual({ source: "s3" });
    expect(task.overlap).toBe(2);
  });

  it("ignores computed fields sent by the client", async () => {
    const task = await tenant.caller.task.create({
      data: { text: "x" },
      project: projectId,
      // biome-ignore lint/suspicious/noExplicitAny: computed fields are not part of the input type
      ...({ id: 999, inner_id: 42, is_labeled: true, total_annotations: 7 } as any),
    });
    expect(task.id).not.toBe(999);
    expect(task.inner_id).toBe(1);
    expect(task.is_labeled).toBe(false);
    expect(task.total_annotations).toBe(0);
  });

  it("accepts any object when the label config has no variables", async () => {
    const open = await tenant.caller.project.create({
      title: "Open",
      label_config: '<View><Header value="Hi"/></View>',
    });
    const task = await tenant.caller.task.create({
      data: { whatever: [1, { a: null }], n: 5 },
      project: open.id,
    });
    expect(task.data).toEqual({ whatever: [1, { a: null }], n: 5 });
    const empty = await tenant.caller.task.create({ data: {}, project: open.id });
    expect(empty.inner_id).toBe(2);
  });

  it("walks nested objects for a dotted variable", async () => {
    const nested = await tenant.caller.project.create({
      title: "Nested",
      label_config: '<View><Image name="img" value="$image.url"/></View>',
    });
    const task = await tenant.caller.task.create({
      data: { image: { url: "http://x/1.png" } },
      project: nested.id,
    });
    expect(task.inner_id).toBe(1);
    const missing = await failure({ data: { image: { link: "http://x" } }, project: nested.id });
    expect(missing.formErrors).toEqual([
      '"image.url" key is expected in task data [assume: item["data"] = task root with values]',
    ]);
  });

  it("accepts the project id as a string of digits", async () => {
    const task = await tenant.caller.task.create({
      data: { text: "x" },
      project: String(projectId) as unknown as number,
    });
    expect(task.project).toBe(projectId);
  });
});

describe("task.create rules, in Label Studio's order", () => {
  it("2. a body that is not an object is a 400", async () => {
    for (const body of [[{ data: { text: "x" }, project: 1 }], "text", 5, null]) {
      const f = await failure(body);
      expect(f.code).toBe("BAD_REQUEST");
      expect(f.formErrors?.[0]).toMatch(/must be a JSON object/);
    }
  });

  it("3. an unknown numeric project is a 404 naming Project", async () => {
    const f = await failure({ data: { text: "x" }, project: 987654 });
    expect(f).toMatchObject({ code: "NOT_FOUND", message: "No Project matches the given query." });
  });

  it("3. a non-numeric project id is a 404 Not found.", async () => {
    for (const project of ["abc", [projectId], 1.5, { id: 1 }, true]) {
      const f = await failure({ data: { text: "x" }, project });
      expect(f).toMatchObject({ code: "NOT_FOUND", message: "Not found." });
    }
  });

  it("3. project 0 is a 400 on the project field", async () => {
    const f = await failure({ data: { text: "x" }, project: 0 });
    expect(f.code).toBe("BAD_REQUEST");
    expect(f.fieldErrors).toEqual({ project: ['Invalid pk "0" - object does not exist.'] });
  });

  it("3. the project is looked up before the fields are validated", async () => {
    const f = await failure({ project: 987654 });
    expect(f.code).toBe("NOT_FOUND");
  });

  it("3. another organization's project is the same 404 as an unknown one", async () => {
    const stranger = await createTenant(tdb.db);
    const before = await taskCount();
    await expect(
      stranger.caller.task.create({ data: { text: "x" }, project: projectId }),
    ).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: "No Project matches the given query.",
    });
    expect(await taskCount()).toBe(before);
  });

  it("4. data missing is required; data null may not be null", async () => {
    expect((await failure({ project: projectId })).fieldErrors).toEqual({
      data: ["This field is required."],
    });
    expect((await failure({ data: null, project: projectId })).fieldErrors).toEqual({
      data: ["This field may not be null."],
    });
  });

  it("5. project missing or null is required", async () => {
    expect((await failure({ data: { text: "x" } })).fieldErrors).toEqual({
      project: ["This field is required."],
    });
    expect((await failure({ data: { text: "x" }, project: null })).fieldErrors).toEqual({
      project: ["This field is required."],
    });
  });

  it("6. data that is not an object (a list too) is rejected", async () => {
    for (const data of [["text"], "text", 3, true]) {
      const f = await failure({ data, project: projectId });
      expect(f.code).toBe("BAD_REQUEST");
      expect(f.formErrors).toEqual(["Task[data] must be dict or list"]);
    }
  });

  it("7. a missing config key is reported with Label Studio's message", async () => {
    const f = await failure({ data: { other: "x" }, project: projectId });
    expect(f.code).toBe("BAD_REQUEST");
    expect(f.formErrors).toEqual([
      '"text" key is expected in task data [assume: item["data"] = task root with values]',
    ]);
  });

  it("7. only the first missing key is reported", async () => {
    const two = await tenant.caller.project.create({
      title: "Two",
      label_config: '<View><Text name="a" value="$first"/><Text name="b" value="$second"/></View>',
    });
    const f = await failure({ data: {}, project: two.id });
    expect(f.formErrors).toEqual([
      '"first" key is expected in task data [assume: item["data"] = task root with values]',
    ]);
  });

  it("7. a value of the wrong type for its tag is rejected", async () => {
    const media = await tenant.caller.project.create({
      title: "Media",
      label_config: '<View><Image name="i" value="$image"/><Audio name="a" value="$audio"/></View>',
    });
    const image = await failure({ data: { image: 5, audio: "a.mp3" }, project: media.id });
    expect(image.formErrors?.[0]).toMatch(
      /^data\["image"\]=5 is of type 'number', but the object tag Image expects/,
    );
    const audio = await failure({
      data: { image: ["a.png"], audio: ["a.mp3"] },
      project: media.id,
    });
    expect(audio.formErrors?.[0]).toMatch(/object tag Audio expects the following types: string/);
    const text = await failure({ data: { text: { nested: true } }, project: projectId });
    expect(text.formErrors?.[0]).toMatch(
      /object tag Text expects the following types: string, number, array/,
    );
  });

  it("8. meta that is not an object is rejected", async () => {
    const f = await failure({ data: { text: "x" }, project: projectId, meta: ["a"] });
    expect(f.formErrors).toEqual(["Task[meta] must be dict or list"]);
  });

  it("9. U+0000 in a value or a key is rejected with its JSON path", async () => {
    const value = await failure({
      data: { text: "x", deep: [{ a: "bad\u0000" }] },
      project: projectId,
    });
    expect(value.fieldErrors?.data?.[0]).toMatch(/data\.deep\[0\]\.a contains U\+0000/);
    const key = await failure({ data: { text: "x" }, project: projectId, meta: { "k\u0000": 1 } });
    expect(key.fieldErrors?.meta?.[0]).toMatch(
      /meta\["k\\u0000"\] has a key that contains U\+0000/,
    );
  });

  it("rejects a lone surrogate rather than storing a replacement character", async () => {
    const f = await failure({ data: { text: "x\ud800y" }, project: projectId });
    expect(f.fieldErrors?.data?.[0]).toMatch(/data\.text contains a lone UTF-16 surrogate/);
  });

  it("rejects an overlap below 1 or not an integer", async () => {
    expect(
      (await failure({ data: { text: "x" }, project: projectId, overlap: 0 })).fieldErrors,
    ).toEqual({
      overlap: ["Ensure this value is greater than or equal to 1."],
    });
    expect(
      (await failure({ data: { text: "x" }, project: projectId, overlap: "many" })).fieldErrors,
    ).toEqual({
      overlap: ["A valid integer is required."],
    });
  });
});
