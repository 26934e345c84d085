import { describe, expect, it } from "vitest";
import { checkJson, checkLabelConfig, labelConfigVariables, taskDataError } from "../src/index";

describe("labelConfigVariables", () => {
  it("lists $variables of object tags, nested ones dotted", () => {
    const xml = `<View>
      <Header value="$title"/>
      <Image name="img" value="$image.url"/>
      <Text name="text" value="$text"/>
      <Choices name="sentiment" toName="text"><Choice value="positive"/></Choices>
    </View>`;
    expect(labelConfigVariables(xml)).toEqual(["image.url", "text"]);
  });

  it("takes the first $word of a value that is not a variable itself", () => {
    expect(
      labelConfigVariables('<View><Text name="t" value="Review: $review and $other"/></View>'),
    ).toEqual(["review"]);
    expect(labelConfigVariables('<View><Text name="t" value="static"/></View>')).toEqual([]);
  });

  it("ignores elements without a name, and lists a variable once", () => {
    expect(
      labelConfigVariables(
        '<View><Choice value="$x"/><Text name="a" value="$t"/><HyperText name="b" value="$t"/></View>',
      ),
    ).toEqual(["t"]);
  });

  it("accepts the default empty config", () => {
    expect(labelConfigVariables("<View></View>")).toEqual([]);
  });

  it("uses a real XML parser: attributes with > and entities, comments, CDATA", () => {
    const xml = `<?xml version="1.0"?><!-- a > b --><View><Text name="t" value="$a" hint="x &gt; y"/><![CDATA[<Text name="no" value="$no"/>]]></View>`;
    expect(labelConfigVariables(xml)).toEqual(["a"]);
  });
});

describe("checkLabelConfig", () => {
  it("explains malformed XML with a position", () => {
    const check = checkLabelConfig('<View><Text name="t" value="$t"></View>');
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.error).toMatch(/not well-formed XML.*line 1/);
  });

  it("requires a <View> root, unique names and known toName targets", () => {
    expect(checkLabelConfig("<Text name='a' value='$a'/>")).toMatchObject({
      ok: false,
      error: expect.stringMatching(/root/),
    });
    expect(
      checkLabelConfig("<View><Text name='a' value='$a'/><Text name='a' value='$b'/></View>"),
    ).toMatchObject({
      ok: false,
      error: expect.stringMatching(/two tags named "a"/),
    });
    expect(checkLabelConfig("<View><Choices name='c' toName='missing'/></View>")).toMatchObject({
      ok: false,
      error: expect.stringMatching(/no tag is named "missing"/),
    });
    expect(checkLabelConfig("")).toMatchObject({ ok: false });
  });
});

describe("taskDataError", () => {
  const check = checkLabelConfig(
    '<View><Image name="i" value="$image"/><Text name="t" value="$meta.text"/></View>',
  );
  const tags = check.ok ? check.objectTags : [];

  it("reports the first missing key, walking nested objects", () => {
    expect(taskDataError(tags, {})?.message).toBe('"image" key is expected in task data');
    expect(taskDataError(tags, { image: "a.png", meta: {} })?.message).toBe(
      '"meta.text" key is expected in task data',
    );
    expect(taskDataError(tags, { image: "a.png", meta: { text: "x" }, extra: 1 })).toBeNull();
  });

  it("checks value types per tag", () => {
    expect(taskDataError(tags, { image: 3, meta: { text: "x" } })?.message).toBe(
      "data[\"image\"]=3 is of type 'number', but the object tag Image expects the following types: string, array",
    );
    expect(taskDataError(tags, { image: ["a", "b"], meta: { text: 12 } })).toBeNull();
  });
});

describe("checkJson: strings jsonb cannot store", () => {
  it("finds U+0000 and lone surrogates in values and keys, with the path and the key", () => {
    expect(checkJson({ a: [{ b: "x\u0000" }] }, "data")).toMatchObject({
      path: "data.a[0].b",
      key: ["data", "a", 0, "b"],
      message: "The string at data.a[0].b contains U+0000 (NUL), which cannot be stored.",
    });
    expect(checkJson({ "a b": "\udc00" }, "data")).toMatchObject({
      path: 'data["a b"]',
      key: ["data", "a b"],
    });
    expect(checkJson({ "k\u0000": 1 }, "meta")?.message).toBe(
      'The string at meta["k\\u0000"] has a key that contains U+0000 (NUL), which cannot be stored.',
    );
    expect(checkJson({ ok: "😀 é" }, "data")).toBeNull();
  });
});

describe("checkJson: limits", () => {
  it("refuses deep nesting, too many values, huge strings and non-finite numbers", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 150; i++) deep = [deep];
    expect(checkJson({ deep }, "data")?.message).toMatch(/nested deeper than 100 levels/);
    expect(checkJson({ many: Array.from({ length: 100_001 }, () => 1) }, "data")?.message).toMatch(
      /more than 100000 values/,
    );
    expect(checkJson({ s: "x".repeat(5_000_001) }, "data")?.path).toBe("data.s");
    expect(checkJson({ n: Number.POSITIVE_INFINITY }, "meta")?.message).toBe(
      "The number at meta.n is out of range.",
    );
    expect(checkJson({ ok: [1, { a: "b" }] }, "data")).toBeNull();
  });

  it("reports a limit before an unstorable string found earlier", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 150; i++) deep = { a: deep };
    expect(checkJson({ bad: "\u0000", deep }, "data")?.message).toMatch(/nested deeper/);
  });

  it("walks any depth without recursion", () => {
    // Deeper than any call stack: a recursive walk would overflow here.
    let deep: unknown = "\u0000";
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const limits = { maxDepth: Number.POSITIVE_INFINITY, maxNodes: 1e9, maxStringLength: 10 };
    expect(checkJson(deep, "data", limits)?.key).toHaveLength(200_001);
  });
});
