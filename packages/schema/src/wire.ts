/**
 * How Taskport's values travel: superjson (so that dates stay dates) for tRPC and the web
 * app's prefetched queries, and JSON for REST. Both use the library first; a task stored with
 * JSON deeper than the library's recursion can follow (any depth PostgreSQL keeps) is written
 * by the iterative fallbacks here instead, with the same output, so reading never fails on
 * what is stored. The fallbacks handle what the API answers with: plain objects, arrays,
 * primitives, dates and undefined.
 */
import superjson, { type SuperJSONResult } from "superjson";

type Annotation = "Date" | "undefined";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

interface Slot {
  source: unknown;
  target: Record<string | number, unknown>;
  name: string | number;
  parent: Slot | null;
}

function pathOf(slot: Slot): string {
  const parts: string[] = [];
  for (let s: Slot | null = slot; s?.parent; s = s.parent) {
    parts.push(String(s.name).replace(/\\/g, "\\\\").replace(/\./g, "\\."));
  }
  return parts.reverse().join(".");
}

/** superjson.serialize's result for `value`, without recursion; `overflow` is rethrown for values it cannot write. */
export function serializeIteratively(value: unknown, overflow: unknown): SuperJSONResult {
  if (value instanceof Date) return { json: value.toISOString(), meta: { values: ["Date"], v: 1 } };
  const values: Record<string, [Annotation]> = {};
  const root: Record<string, unknown> = {};
  const stack: Slot[] = [{ source: value, target: root, name: "json", parent: null }];
  for (let slot = stack.pop(); slot; slot = stack.pop()) {
    const { source, target, name } = slot;
    if (Array.isArray(source)) {
      const copy: unknown[] = [];
      target[name] = copy;
      for (let i = source.length - 1; i >= 0; i--)
        stack.push({ source: source[i], target: copy as never, name: i, parent: slot });
    } else if (isPlainObject(source)) {
      const copy: Record<string, unknown> = {};
      target[name] = copy;
      const entries = Object.entries(source);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        stack.push({ source: child, target: copy, name: key, parent: slot });
      }
    } else if (source instanceof Date) {
      values[pathOf(slot)] = ["Date"];
      target[name] = source.toISOString();
    } else if (source === undefined && slot.parent) {
      values[pathOf(slot)] = ["undefined"];
      target[name] = null;
    } else if (
      source === null ||
      typeof source === "string" ||
      typeof source === "boolean" ||
      (typeof source === "number" && Number.isFinite(source))
    ) {
      target[name] = source;
    } else {
      // A type only superjson knows how to write: nothing to fall back to.
      throw overflow;
    }
  }
  const json = root.json as SuperJSONResult["json"];
  return Object.keys(values).length > 0 ? { json, meta: { values, v: 1 } } : { json };
}

/** tRPC's transformer, and the web app's for prefetched queries. */
export const transformer = {
  serialize(value: unknown): SuperJSONResult {
    try {
      return superjson.serialize(value);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      return serializeIteratively(value, error);
    }
  },
  deserialize<T = unknown>(payload: SuperJSONResult): T {
    // In place: the payload was just parsed for this call, and copying it would recurse.
    return superjson.deserialize<T>(payload, { inPlace: true });
  },
};

/** JSON.stringify's text for `value`, without recursion. */
export function stringifyIteratively(value: unknown): string {
  const out: string[] = [];
  type Step = { value: unknown } | string;
  const stack: Step[] = [{ value }];
  for (let step = stack.pop(); step !== undefined; step = stack.pop()) {
    if (typeof step === "string") {
      out.push(step);
      continue;
    }
    let v = step.value;
    if (
      v !== null &&
      typeof v === "object" &&
      typeof (v as { toJSON?: unknown }).toJSON === "function"
    )
      v = (v as { toJSON: () => unknown }).toJSON();
    if (v === undefined || typeof v === "function" || typeof v === "symbol") {
      out.push("null");
    } else if (typeof v === "number") {
      out.push(Number.isFinite(v) ? String(v) : "null");
    } else if (typeof v === "bigint") {
      throw new TypeError("Do not know how to serialize a BigInt");
    } else if (v === null || typeof v !== "object") {
      out.push(JSON.stringify(v));
    } else if (Array.isArray(v)) {
      stack.push("]");
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ value: v[i] });
        if (i > 0) stack.push(",");
      }
      out.push("[");
    } else {
      const entries = Object.entries(v).filter(([, child]) => {
        const c = child;
        return c !== undefined && typeof c !== "function" && typeof c !== "symbol";
      });
      stack.push("}");
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        stack.push({ value: child });
        stack.push(`${i > 0 ? "," : ""}${JSON.stringify(key)}:`);
      }
      out.push("{");
    }
  }
  return out.join("");
}

/** JSON text of an answer: JSON.stringify, or the same text without recursion for deep values. */
export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return stringifyIteratively(value);
  }
}
