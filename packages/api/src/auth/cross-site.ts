/**
 * The one cross-site rule, for every change made with the session cookie (REST, tRPC, and the
 * web app's form posts): a browser sends the cookie with requests that another origin starts
 * (form posts are "simple" requests needing no CORS approval), so such a change must come from
 * this server's own origin. Another port of the same host is another origin, although
 * browsers call it the same site. Tokens are not sent by browsers on their own, so requests
 * authenticated by a token are not concerned.
 */
import { TRPCError } from "@trpc/server";
import { credentialsFrom, type HeaderBag, readHeader } from "./actor";

export const CROSS_SITE_MESSAGE = "CSRF Failed: a session cookie cannot be used from another site.";

function fromAnotherOrigin(headers: HeaderBag): boolean {
  // Sec-Fetch-Site, when the browser sends it, says it outright.
  const fetchSite = readHeader(headers, "sec-fetch-site");
  if (fetchSite !== undefined && fetchSite !== "same-origin" && fetchSite !== "none") return true;
  const origin = readHeader(headers, "origin");
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== readHeader(headers, "host");
  } catch {
    // "null" (sandboxed frames, some redirects) and anything unreadable.
    return true;
  }
}

/** Throws FORBIDDEN when `change` is made with the session cookie from another origin. */
export function refuseCrossSiteChange(headers: HeaderBag, change: boolean): void {
  if (!change || credentialsFrom(headers)?.kind !== "session") return;
  if (fromAnotherOrigin(headers))
    throw new TRPCError({ code: "FORBIDDEN", message: CROSS_SITE_MESSAGE });
}
