/**
 * Strings PostgreSQL's jsonb cannot store faithfully: U+0000 is refused outright, and a lone
 * UTF-16 surrogate has no UTF-8 form (it would be silently replaced). Found here, they become a
 * 400 naming the JSON path instead of a 500 from the database.
 */

function unstorableReason(text: string): string | null {
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

function pathPart(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Where a value sits in a JSON document: object keys and array indexes from its root. */
export type JsonKey = (string | number)[];

/** The first string (value or key) under `value` that cannot be stored, as `{path, key, reason}`. */
export function findUnstorableString(
  value: unknown,
  path: string,
  key: JsonKey = [path],
): { path: string; key: JsonKey; reason: string } | null {
  if (typeof value === "string") {
    const reason = unstorableReason(value);
    return reason ? { path, key, reason } : null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableString(value[i], `${path}[${i}]`, [...key, i]);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === "object") {
    for (const [name, child] of Object.entries(value)) {
      const keyReason = unstorableReason(name);
      if (keyReason)
        return {
          path: `${path}${pathPart(name)}`,
          key: [...key, name],
          reason: `has a key that ${keyReason}`,
        };
      const found = findUnstorableString(child, `${path}${pathPart(name)}`, [...key, name]);
      if (found) return found;
    }
  }
  return null;
}

/**
 * Explicit limits on task JSON, so that a hostile or broken client gets a clear 400 instead of
 * exhausting the server or the database (PostgreSQL refuses very deep jsonb with a stack error).
 */
export const JSON_LIMITS = {
  maxDepth: 100,
  maxNodes: 100_000,
  maxStringLength: 5_000_000,
} as const;

/** The first place where `value` exceeds JSON_LIMITS, or holds a number JSON cannot keep. */
export function findJsonLimitExceeded(
  value: unknown,
  path: string,
): { path: string; message: string } | null {
  let nodes = 0;
  const walk = (
    v: unknown,
    at: string,
    depth: number,
  ): { path: string; message: string } | null => {
    nodes += 1;
    if (nodes > JSON_LIMITS.maxNodes) {
      return {
        path,
        message: `${path} has more than ${JSON_LIMITS.maxNodes} values and keys in all; split it up.`,
      };
    }
    if (typeof v === "number" && !Number.isFinite(v)) {
      return { path: at, message: `The number at ${at} is out of range.` };
    }
    if (typeof v === "string" && v.length > JSON_LIMITS.maxStringLength) {
      return {
        path: at,
        message: `The string at ${at} is longer than ${JSON_LIMITS.maxStringLength} characters.`,
      };
    }
    if (v === null || typeof v !== "object") return null;
    if (depth >= JSON_LIMITS.maxDepth) {
      return { path: at, message: `${at} is nested deeper than ${JSON_LIMITS.maxDepth} levels.` };
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const found = walk(v[i], `${at}[${i}]`, depth + 1);
        if (found) return found;
      }
      return null;
    }
    for (const [key, child] of Object.entries(v)) {
      if (key.length > JSON_LIMITS.maxStringLength) {
        return {
          path: at,
          message: `A key in ${at} is longer than ${JSON_LIMITS.maxStringLength} characters.`,
        };
      }
      const found = walk(child, `${at}${pathPart(key)}`, depth + 1);
      if (found) return found;
    }
    return null;
  };
  return walk(value, path, 0);
}
