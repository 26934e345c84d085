import { checkLabelConfig } from "@taskport/schema";
import { describe, expect, it } from "vitest";
import {
  bodyFromJson,
  dataFromForm,
  dataPreview,
  jsonTemplate,
  PROJECT_GONE,
  placeErrors,
  SESSION_ENDED,
  serverTaskErrors,
  taskFormSpec,
  validateTaskBody,
} from "../../src/lib/task-form";

const TEXT = '<View><Text name="text" value="$text"/></View>';

function spec(xml: string) {
  const result = taskFormSpec(xml);
  if (!result.ok) throw new Error(result.error);
  return result;
}

describe("taskFormSpec (form generation)", () => {
  it("makes one text field per required key, in the config's order", () => {
    const { fields } = spec(
      '<View><Image name="i" value="$image"/><Text name="t" value="$text"/><Text name="t2" value="$text"/></View>',
    );
    expect(fields.map((f) => [f.key, f.kind, f.multiline, f.readBy])).toEqual([
      ["image", "text", false, ['<Image name="i">']],
      ["text", "text", true, ['<Text name="t">', '<Text name="t2">']],
    ]);
    expect(fields[0]?.accepts).toEqual(["string", "array"]);
  });

  it("asks for JSON where the tags take no string", () => {
    const { fields } = spec('<View><List name="l" value="$items"/></View>');
    expect(fields).toMatchObject([{ key: "items", kind: "json", accepts: ["array"] }]);
  });

  it("keeps nested keys dotted", () => {
    const { fields } = spec('<View><Text name="t" value="$doc.body"/></View>');
    expect(fields.map((f) => f.key)).toEqual(["doc.body"]);
    expect(dataFromForm(fields, { "doc.body": "hi" }).data).toEqual({ doc: { body: "hi" } });
  });

  it("reports an invalid config instead of fields", () => {
    expect(taskFormSpec("<View>")).toMatchObject({ ok: false });
  });

  it("has no field for a config without variables", () => {
    expect(spec("<View></View>").fields).toEqual([]);
  });
});

describe("dataFromForm", () => {
  const { fields } = spec(
    '<View><Text name="t" value="$text"/><List name="l" value="$items"/></View>',
  );

  it("leaves an empty field's key out, so that it is reported missing", () => {
    expect(dataFromForm(fields, { text: "  ", items: "" })).toEqual({ data: {}, errors: {} });
  });

  it("keeps text as typed and parses JSON fields", () => {
    expect(dataFromForm(fields, { text: " a b ", items: '["x"]' })).toEqual({
      data: { text: " a b ", items: ["x"] },
      errors: {},
    });
  });

  it("flags a JSON field that does not parse, under its own key", () => {
    const { errors } = dataFromForm(fields, { text: "a", items: "[x" });
    expect(Object.keys(errors)).toEqual(["data.items"]);
    expect(errors["data.items"]).toMatch(/Enter JSON \(array\)/);
  });
});

describe("validateTaskBody (the server's rules, in the browser)", () => {
  const tags = spec(TEXT).objectTags;

  it("accepts a valid body", () => {
    expect(validateTaskBody(tags, { data: { text: "hi", extra: 1 }, project: 1 })).toEqual({});
  });

  it("reports a missing key with the server's words, under the key", () => {
    expect(validateTaskBody(tags, { data: {}, project: 1 })).toEqual({
      "data.text": '"text" key is expected in task data',
    });
  });

  it("reports a value of the wrong type under the key", () => {
    const errors = validateTaskBody(tags, { data: { text: true }, project: 1 });
    expect(errors["data.text"]).toMatch(/is of type 'boolean'/);
  });

  it("reports U+0000 at its path, in data and in meta", () => {
    expect(validateTaskBody(tags, { data: { text: "a\u0000b" }, project: 1 })).toEqual({
      "data.text": "The string at data.text contains U+0000 (NUL), which cannot be stored.",
    });
    expect(
      validateTaskBody(tags, { data: { text: "a" }, meta: { m: ["\u0000"] }, project: 1 }),
    ).toEqual({
      "meta.m": "The string at meta.m[0] contains U+0000 (NUL), which cannot be stored.",
    });
  });

  it("reports the server's first failure, in the server's order", () => {
    expect(validateTaskBody(tags, { data: [], project: 1, overlap: 0 })).toEqual({
      overlap: "Ensure this value is greater than or equal to 1.",
    });
    expect(validateTaskBody(tags, { data: [], project: 1 })).toEqual({
      data: "Task[data] must be dict or list",
    });
    expect(validateTaskBody(tags, { data: { nope: 1 }, meta: "m", project: 1 })).toEqual({
      "data.text": '"text" key is expected in task data',
    });
  });

  it("applies the server's JSON limits", () => {
    let deep: unknown = "x";
    for (let i = 0; i < 3_000; i++) deep = { a: deep };
    const errors = validateTaskBody(tags, { data: { text: "a", deep }, project: 1 });
    const [key, message] = Object.entries(errors)[0] ?? [];
    expect(key).toMatch(/^data\.deep(\.a)+$/);
    expect(message).toMatch(/nested deeper than 100 levels/);
  });
});

describe("bodyFromJson (raw mode)", () => {
  it("takes data, meta and extra keys, for the current project", () => {
    expect(bodyFromJson('{"data": {"text": "a", "x": 1}, "meta": {"m": 2}}', 4)).toEqual({
      body: { data: { text: "a", x: 1 }, meta: { m: 2 }, project: 4 },
    });
  });

  it("refuses JSON that does not parse, or is not an object, or names another project", () => {
    expect(bodyFromJson("{", 1)).toMatchObject({ error: expect.stringMatching(/^Not valid JSON/) });
    expect(bodyFromJson("[1]", 1)).toMatchObject({ error: expect.stringMatching(/JSON object/) });
    expect(bodyFromJson('{"data": {}, "project": 2}', 1)).toEqual({
      error: '"project" is 2, but this is project 1.',
    });
  });

  it("starts from a template holding every required key", () => {
    const { fields } = spec(
      '<View><Text name="t" value="$text"/><List name="l" value="$items"/></View>',
    );
    expect(JSON.parse(jsonTemplate(fields))).toEqual({ data: { text: "", items: [] }, meta: {} });
  });
});

describe("serverTaskErrors and placeErrors (server errors next to their field)", () => {
  const { fields } = spec(TEXT);
  const badRequest = (
    issues: { field: string | null; key: (string | number)[]; message: string }[],
  ) => ({
    message: "x",
    data: { code: "BAD_REQUEST", zodError: { issues } },
  });

  it("puts a missing key next to its field, by the key the server names", () => {
    const errors = serverTaskErrors(
      badRequest([
        { field: null, key: ["data", "text"], message: '"text" key is expected in task data' },
      ]),
    );
    expect(errors).toEqual({ "data.text": '"text" key is expected in task data' });
    expect(placeErrors(errors, fields, "form")).toEqual({
      byField: { "data.text": '"text" key is expected in task data' },
      form: [],
    });
    expect(placeErrors(errors, fields, "json")).toEqual({
      byField: { json: '"text" key is expected in task data' },
      form: [],
    });
  });

  it("puts U+0000 next to the field that holds it, however deep", () => {
    const errors = serverTaskErrors(
      badRequest([
        {
          field: "data",
          key: ["data", "text", 0],
          message: "The string at data.text[0] contains U+0000 (NUL), which cannot be stored.",
        },
      ]),
    );
    expect(placeErrors(errors, fields, "form").byField["data.text"]).toMatch(/U\+0000/);
  });

  it("explains a project deleted meanwhile above the form", () => {
    const errors = serverTaskErrors({
      message: "No Project matches the given query.",
      data: { code: "NOT_FOUND", zodError: null },
    });
    expect(placeErrors(errors, fields, "form")).toEqual({ byField: {}, form: [PROJECT_GONE] });
  });

  it("asks to log in again when the session has ended", () => {
    expect(serverTaskErrors({ message: "x", data: { code: "UNAUTHORIZED" } })).toEqual({
      form: SESSION_ENDED,
    });
  });

  it("shows an error about a key without a field above the form, and one about the body too", () => {
    const errors = serverTaskErrors(
      badRequest([
        {
          field: "meta",
          key: ["meta", "a"],
          message: "The string at meta.a contains U+0000 (NUL), which cannot be stored.",
        },
        { field: null, key: [], message: "Task[data] must be dict or list" },
      ]),
    );
    expect(placeErrors(errors, fields, "form").form).toHaveLength(2);
  });

  it("falls back to the message for anything else", () => {
    expect(serverTaskErrors({ message: "Too large", data: { code: "PAYLOAD_TOO_LARGE" } })).toEqual(
      {
        form: "Too large",
      },
    );
  });
});

describe("dataPreview", () => {
  it("shortens long data to one line", () => {
    expect(dataPreview({ text: "a" })).toBe('{"text":"a"}');
    const long = dataPreview({ text: "x".repeat(200) }, 40);
    expect(long).toHaveLength(40);
    expect(long.endsWith("…")).toBe(true);
  });
});

it("derives form fields from the same parse the server uses", () => {
  const check = checkLabelConfig(TEXT);
  expect(check.ok && check.variables).toEqual(spec(TEXT).fields.map((f) => f.key));
});
