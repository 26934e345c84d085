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

/** The first string (value or key) under `value` that cannot be stored, as `{path, reason}`. */
export function findUnstorableString(
  value: unknown,
  path: string,
): { path: string; reason: string } | null {
  if (typeof value === "string") {
    const reason = unstorableReason(value);
    return reason ? { path, reason } : null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableString(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      const keyReason = unstorableReason(key);
      if (keyReason)
        return { path: `${path}${pathPart(key)}`, reason: `has a key that ${keyReason}` };
      const found = findUnstorableString(child, `${path}${pathPart(key)}`);
      if (found) return found;
    }
  }
  return null;
}
