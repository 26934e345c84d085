/**
 * What PostgreSQL's jsonb, and a sane server, can take: explicit limits on task JSON (depth,
 * size, string length, finite numbers), so that a hostile or broken client gets a clear 400
 * instead of exhausting the server or the database (PostgreSQL refuses very deep jsonb with a
 * stack error), and the strings jsonb cannot store faithfully (U+0000 is refused outright; a
 * lone UTF-16 surrogate has no UTF-8 form and would be silently replaced). Every walk here is
 * iterative: no input, however deep, can overflow the stack.
 */

/** Where a value sits in a JSON document: object keys and array indexes from its root. */
export type JsonKey = (string | number)[];

export const JSON_LIMITS = {
  maxDepth: 100,
  maxNodes: 100_000,
  maxStringLength: 5_000_000,
} as const;

/** A refused JSON value: where it is, as data and as text (`data.list[0]`), and why. */
export interface JsonProblem {
  key: JsonKey;
  path: string;
  message: string;
}

/**
 * Why PostgreSQL cannot store `text` faithfully (U+0000, a lone surrogate), or null. The one
 * rule for every string Taskport keeps: task JSON here, every other input field through
 * `StorableString`.
 */
export function unstorableReason(text: string): string | null {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0) return "contains U+0000 (NUL), which cannot be stored";
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return "contains a lone UTF-16 surrogate, which is not valid Unicode";
    }
    if (code >= 0xdc00 && code <= 0xdfff)
      return "contains a lone UTF-16 surrogate, which is not valid Unicode";
  }
  return null;
}

/** `data.text`, `data["a key"]`, `data.list[0]`: a key path as the messages spell it. */
export function jsonPath(key: readonly (string | number)[]): string {
  let path = "";
  for (const [i, part] of key.entries()) {
    if (i === 0) path = String(part);
    else if (typeof part === "number") path += `[${part}]`;
    else path += /^[A-Za-z_$][\w$]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
  }
  return path;
}

interface Frame {
  value: unknown;
  parent: Frame | null;
  name: string | number;
  depth: number;
}

function keyOf(frame: Frame, child?: string | number): JsonKey {
  const key: JsonKey = child === undefined ? [] : [child];
  for (let f: Frame | null = frame; f; f = f.parent) key.push(f.name);
  return key.reverse();
}

function problem(key: JsonKey, message: (at: string) => string): JsonProblem {
  const path = jsonPath(key);
  return { key, path, message: message(path) };
}

/**
 * The first problem of `value` (named `root` in messages, e.g. `data`): a limit it exceeds or
 * a number JSON cannot keep, else the first string (value or key) that cannot be stored, else
 * null. Limits come first, as they bound the work.
 */
export function checkJson(
  value: unknown,
  root: string,
  limits: { maxDepth: number; maxNodes: number; maxStringLength: number } = JSON_LIMITS,
): JsonProblem | null {
  const { maxDepth, maxNodes, maxStringLength } = limits;
  let nodes = 0;
  let unstorable: JsonProblem | null = null;
  const stack: Frame[] = [{ value, parent: null, name: root, depth: 0 }];
  for (let frame = stack.pop(); frame; frame = stack.pop()) {
    nodes += 1;
    if (nodes > maxNodes) {
      return problem(
        [root],
        () => `${root} has more than ${maxNodes} values and keys in all; split it up.`,
      );
    }
    const v = frame.value;
    if (typeof v === "number") {
      if (!Number.isFinite(v))
        return problem(keyOf(frame), (at) => `The number at ${at} is out of range.`);
      continue;
    }
    if (typeof v === "string") {
      if (v.length > maxStringLength) {
        return problem(
          keyOf(frame),
          (at) => `The string at ${at} is longer than ${maxStringLength} characters.`,
        );
      }
      const reason = unstorable ? null : unstorableReason(v);
      if (reason) unstorable = problem(keyOf(frame), (at) => `The string at ${at} ${reason}.`);
      continue;
    }
    if (v === null || typeof v !== "object") continue;
    if (frame.depth >= maxDepth) {
      return problem(keyOf(frame), (at) => `${at} is nested deeper than ${maxDepth} levels.`);
    }
    const depth = frame.depth + 1;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--)
        stack.push({ value: v[i], parent: frame, name: i, depth });
      continue;
    }
    const entries = Object.entries(v);
    for (const [name] of entries) {
      if (name.length > maxStringLength) {
        return problem(
          keyOf(frame),
          (at) => `A key in ${at} is longer than ${maxStringLength} characters.`,
        );
      }
      const reason = unstorable ? null : unstorableReason(name);
      if (reason) {
        unstorable = problem(
          keyOf(frame, name),
          (at) => `The string at ${at} has a key that ${reason}.`,
        );
      }
    }
    for (let i = entries.length - 1; i >= 0; i--) {
      const [name, child] = entries[i] as [string, unknown];
      stack.push({ value: child, parent: frame, name, depth });
    }
  }
  return unstorable;
}
