/**
 * Where to go after logging in: only a path on this site, so that a crafted link cannot send
 * a freshly logged-in user to another origin (`//evil.example` or `/\evil.example`).
 */
export function safeNextPath(next: unknown, fallback = "/projects"): string {
  if (typeof next !== "string") return fallback;
  if (!next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return fallback;
  return next;
}
