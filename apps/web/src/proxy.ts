/**
 * A Content Security Policy with a fresh nonce per page request: Next.js reads the nonce from
 * the request's policy and puts it on its own scripts (every page is rendered per request),
 * so no inline script runs unless this server wrote it for this answer. 'strict-dynamic' lets
 * those scripts load the app's chunks. Styles keep 'unsafe-inline' (React writes style
 * attributes, which nonces do not cover); React's development build also needs eval.
 * /api/* is served beside Next by the custom server and never reaches this.
 */
import { type NextRequest, NextResponse } from "next/server";

function contentSecurityPolicy(nonce: string, dev: boolean): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self'${dev ? " ws: wss:" : ""}`,
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export function proxy(request: NextRequest) {
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString("base64");
  const policy = contentSecurityPolicy(nonce, process.env.NODE_ENV === "development");
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("content-security-policy", policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("content-security-policy", policy);
  return response;
}

export const config = {
  // Every page; static assets have no scripts to protect.
  matcher: [{ source: "/((?!_next/static|_next/image|icon.svg|favicon.ico).*)" }],
};
