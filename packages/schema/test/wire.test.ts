import superjson from "superjson";
import { describe, expect, it } from "vitest";
import {
  serializeIteratively,
  stringifyIteratively,
  stringifyJson,
  transformer,
} from "../src/index";

const samples: unknown[] = [
  { a: 1, b: "two", c: null, d: true, e: [1, "x", null, { f: [] }] },
  { created_at: new Date(0), nested: [{ at: new Date(1000), missing: undefined }] },
  { "a.b": { "c\\d": new Date(5) }, list: [undefined, 2] },
  [new Date(7), { x: undefined }],
  "text",
  42,
  null,
  new Date(9),
];

function chain(depth: number): unknown {
  let value: unknown = "leaf";
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe("serializeIteratively", () => {
  it("writes what superjson writes", () => {
    for (const sample of samples) {
      expect(serializeIteratively(sample, new RangeError())).toEqual(superjson.serialize(sample));
    }
  });
});

describe("transformer", () => {
  it("round-trips a task list whose data superjson cannot walk", () => {
    const data = chain(20_000);
    const value = { tasks: [{ id: 1, data, created_at: new Date(0), file_upload: null }] };
    expect(() => superjson.serialize(value)).toThrow(RangeError);
    const wire = transformer.serialize(value);
    expect(wire.meta).toEqual({ values: { "tasks.0.created_at": ["Date"] }, v: 1 });
    const back = transformer.deserialize<typeof value>(wire);
    expect(back.tasks[0]?.created_at).toEqual(new Date(0));
    let depth = 0;
    for (
      let v = back.tasks[0]?.data as { a?: unknown };
      v && typeof v === "object";
      v = v.a as { a?: unknown }
    )
      depth++;
    expect(depth).toBe(20_000);
  });
});

describe("stringifyJson", () => {
  it("writes what JSON.stringify writes", () => {
    for (const sample of samples) {
      expect(stringifyIteratively(sample)).toBe(JSON.stringify(sample));
    }
  });

  it("writes JSON too deep for JSON.stringify", () => {
    const value = { data: chain(20_000), at: new Date(0) };
    expect(() => JSON.stringify(value)).toThrow(RangeError);
    const parsed = JSON.parse(stringifyJson(value));
    expect(parsed.at).toBe("1970-01-01T00:00:00.000Z");
    let depth = 0;
    for (let v = parsed.data; typeof v === "object"; v = v.a) depth++;
    expect(depth).toBe(20_000);
  });
});
