import { describe, expect, it } from "vitest";
import {
  checkImportItem,
  checkLabelConfig,
  checkTaskCreate,
  checkTaskUpdate,
  DATA_NOTE,
  FLAT_NOTE,
  readProjectRef,
} from "../src/index";

const check = checkLabelConfig('<View><Text name="text" value="$text"/></View>');
const tags = check.ok ? check.objectTags : [];

let deep: unknown = "leaf";
for (let i = 0; i < 3_000; i++) deep = { a: deep };

describe("readProjectRef", () => {
  it("reads a project id as Label Studio does", () => {
    expect(readProjectRef(undefined)).toEqual({ kind: "absent" });
    expect(readProjectRef("")).toEqual({ kind: "absent" });
    expect(readProjectRef(7)).toEqual({ kind: "id", id: 7 });
    expect(readProjectRef(" 7 ")).toEqual({ kind: "id", id: 7 });
    for (const raw of ["abc", 1.5, [1], { id: 1 }, true]) {
      expect(readProjectRef(raw)).toEqual({ kind: "not-an-id" });
    }
    expect(readProjectRef(-3)).toEqual({ kind: "no-such-id" });
    expect(readProjectRef(2 ** 31)).toEqual({ kind: "no-such-id" });
    expect(readProjectRef(0)).toMatchObject({ kind: "invalid", issue: { field: "project" } });
  });
});

describe("checkTaskCreate: Label Studio's order, first failure wins", () => {
  const issueOf = (body: Record<string, unknown>, withTags = true) => {
    const result = checkTaskCreate(withTags ? tags : null, body);
    return result.ok ? null : result.issue;
  };

  it("data before project, project before the data's type, overlap before the label config", () => {
    expect(issueOf({}, false)).toMatchObject({ field: "data", message: "This field is required." });
    expect(issueOf({ data: null }, false)).toMatchObject({ field: "data" });
    expect(issueOf({ data: [1] }, false)).toMatchObject({ field: "project" });
    expect(issueOf({ data: [1], overlap: 0 })).toMatchObject({ field: "overlap" });
    expect(issueOf({ data: [1] })).toEqual({
      field: null,
      key: ["data"],
      message: "Task[data] must be dict or list",
    });
  });

  it("the label config before meta, meta before the strings", () => {
    expect(issueOf({ data: { nope: "\u0000" }, meta: "m" })).toEqual({
      field: null,
      key: ["data", "text"],
      message: `"text" key is expected in task data${DATA_NOTE}`,
      detail: '"text" key is expected in task data',
    });
    expect(issueOf({ data: { text: "\u0000" }, meta: "m" })).toMatchObject({
      message: "Task[meta] must be dict or list",
    });
    expect(issueOf({ data: { text: "\u0000" }, meta: { a: 1 } })).toMatchObject({
      field: "data",
      key: ["data", "text"],
    });
  });

  it("applies the JSON limits, and gives the task as it will be stored", () => {
    expect(issueOf({ data: { text: "x", deep } })).toMatchObject({
      field: "data",
      message: expect.stringMatching(/is nested deeper than 100 levels/),
    });
    expect(checkTaskCreate(tags, { data: { text: "x" }, meta: null, overlap: "2" })).toEqual({
      ok: true,
      value: { data: { text: "x" }, meta: {}, overlap: 2 },
    });
  });
});

describe("checkTaskUpdate", () => {
  it("checks the data as it will be, and only what is given for storage", () => {
    const stored = { data: { text: "x", deep } };
    expect(checkTaskUpdate(tags, stored, { meta: { ok: true } })).toEqual({
      ok: true,
      value: { data: undefined, meta: { ok: true }, overlap: undefined },
    });
    expect(checkTaskUpdate(tags, stored, { data: { other: 1 } })).toMatchObject({
      ok: false,
      issue: { key: ["data", "text"] },
    });
    expect(checkTaskUpdate(tags, stored, { data: { text: "y", deep } })).toMatchObject({
      ok: false,
      issue: { field: "data", message: expect.stringMatching(/nested deeper/) },
    });
  });
});

describe("checkImportItem: the create's rules, for each item", () => {
  it("reads flat and structured items with Label Studio's notes", () => {
    expect(checkImportItem(tags, { nope: 1 })).toMatchObject({
      ok: false,
      issue: { message: `"text" key is expected in task data${FLAT_NOTE}` },
    });
    expect(checkImportItem(tags, { data: { $undefined$: "a line" } })).toEqual({
      ok: true,
      value: { data: { text: "a line" }, meta: {}, annotations: [], predictions: [] },
    });
  });

  it("applies the JSON limits a single create applies", () => {
    expect(checkImportItem(tags, { data: { text: "x", deep } })).toMatchObject({
      ok: false,
      issue: { field: "data", message: expect.stringMatching(/nested deeper than 100 levels/) },
    });
    expect(checkImportItem(tags, { text: "x", n: Number.NaN })).toMatchObject({
      ok: false,
      issue: { message: "The number at data.n is out of range." },
    });
  });

  it("checks inline annotations and predictions, whose size is not bounded", () => {
    expect(
      checkImportItem(tags, { data: { text: "x" }, predictions: [{ score: "high" }] }),
    ).toEqual({
      ok: false,
      issue: {
        field: null,
        key: ["predictions", 0],
        message: "predictions[0].score must be a number",
      },
    });
    const mask = Array.from({ length: 150_000 }, (_, i) => i % 256);
    expect(
      checkImportItem(tags, { data: { text: "x" }, predictions: [{ result: [{ rle: mask }] }] }).ok,
    ).toBe(true);
  });
});
