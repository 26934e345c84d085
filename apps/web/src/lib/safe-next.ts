/**
 * Where to go after logging in: only a path on this site, so that a crafted link cannot send
 * a freshly logged-in user to another origin. Browsers drop tabs and newlines from URLs and
 * read `\` as `/`, so `/\t/evil.example` and `/\evil.example` both lead to //evil.example:
 * control characters and backslashes are refused outright, and what is left is resolved as a
 * browser would, against this site's origin, and kept only when it stays there. The answer is
 * the resolved path (never the raw text), so it is also safe in a `Location` header.
 */
const SITE = "http://taskport.invalid";

/** C0 and C1 control characters, DEL, and the backslash. */
function hasUnsafeCharacter(text: string): boolean {
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || char === "\\") return true;
  }
  return false;
}

export function safeNextPath(next: unknown, fallback = "/projects"): string {
  if (typeof next !== "string" || !next.startsWith("/") || hasUnsafeCharacter(next))
    return fallback;
  let url: URL;
  try {
    url = new URL(next, SITE);
  } catch {
    return fallback;
  }
  if (url.origin !== SITE) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}
