/**
 * What the server checks of a request to the pages before Next.js sees it: the same
 * cross-site rule as the API for changes made with the session cookie, and the body's size.
 * Bodies sent to the pages (form posts to server actions) are bounded before Next.js reads them,
 * and server action requests that Next.js could not decode are refused here.
 * Next.js bounds each field of a form post, not the whole: here a body must declare its
 * length (browsers always do for forms and fetch), and a length over the limit is refused.
 * Node's HTTP parser then delivers exactly that many bytes, so nothing larger is read.
 */
import { IncomingMessage, type ServerResponse } from "node:http";
import { CROSS_SITE_MESSAGE, refuseCrossSiteChange } from "@taskport/api";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** True when the request may go on; otherwise the 403 has been sent. */
export function admitPageChange(req: IncomingMessage, res: ServerResponse): boolean {
  try {
    refuseCrossSiteChange(req.headers, !SAFE_METHODS.has(req.method ?? "GET"));
    return true;
  } catch {
    return refuse(res, 403, CROSS_SITE_MESSAGE);
  }
}

/**
 * True when the request may go on; otherwise the 400 has been sent. A path whose
 * percent-encoding does not decode to UTF-8 (`/projects/%ff`) names no page, and Next.js
 * answers it with a 500 when it falls in a dynamic segment.
 */
export function admitPagePath(req: IncomingMessage, res: ServerResponse): boolean {
  try {
    decodeURIComponent((req.url ?? "/").split("?")[0] ?? "/");
    return true;
  } catch {
    return refuse(res, 400, "The path is not valid percent-encoded UTF-8.");
  }
}

/** True when the request may go on; otherwise the refusal has been sent. */
export function admitPageBody(req: IncomingMessage, res: ServerResponse, limit: number): boolean {
  const length = req.headers["content-length"];
  if (req.headers["transfer-encoding"] !== undefined) {
    return refuse(res, 411, "Send the request body with a Content-Length.");
  }
  if (length !== undefined && Number(length) > limit) {
    return refuse(
      res,
      413,
      `The request body is larger than this server accepts (${limit} bytes, TASKPORT_MAX_BODY_BYTES).`,
    );
  }
  return true;
}

/** Next.js's own bound on a server action's body (`serverActions.bodySizeLimit`, 1 MB). */
export const ACTION_BODY_LIMIT = 1024 * 1024;

/** A POST that Next.js reads as a server action: its header, or a form that may carry one. */
function mayBeAction(req: IncomingMessage): boolean {
  if (req.method !== "POST") return false;
  return (
    req.headers["next-action"] !== undefined ||
    /^multipart\/form-data\b/i.test(req.headers["content-type"] ?? "")
  );
}

function parsesAsJson(text: unknown): boolean {
  if (typeof text !== "string") return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Why Next.js could not decode this server action request, or null. */
async function undecodableAction(req: IncomingMessage, body: Buffer): Promise<string | null> {
  const contentType = req.headers["content-type"] ?? "";
  if (!/^multipart\/form-data\b/i.test(contentType))
    return parsesAsJson(body.toString("utf8")) ? null : "The server action's body is not JSON.";
  let form: FormData;
  try {
    // The parser Next.js itself uses for forms posted without JavaScript.
    form = await new Response(new Uint8Array(body), {
      headers: { "content-type": contentType },
    }).formData();
  } catch {
    return "The form's multipart body is malformed.";
  }
  // An action's reference and bound arguments (a form without JavaScript), or the first row of
  // its reply (with JavaScript), are JSON.
  for (const [name, value] of form) {
    const json =
      /^\$ACTION_\d+:\d+$/.test(name) || (name === "0" && req.headers["next-action"] !== undefined);
    if (json && !parsesAsJson(value)) return `The form's field ${name} is not JSON.`;
  }
  return null;
}

/** The host a server action's Origin must name: Next.js compares it with this. */
function actionHost(req: IncomingMessage): string | undefined {
  const forwarded = req.headers["x-forwarded-host"];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
  return first || req.headers.host;
}

/**
 * Next.js answers a server action request it cannot decode (a multipart body its parser
 * refuses, bound arguments or a reply that is not JSON, a body over its own limit, an Origin
 * that is no URL or another site) with a 500. Such a request is the client's error, so it is
 * read here first (its length is already bounded) and refused with a 400, 403 or 413; a request
 * that passes goes on to Next.js with its body replayed. Resolves to the request to hand on, or
 * null when the refusal has been sent.
 */
export async function admitPageAction(
  req: IncomingMessage,
  res: ServerResponse,
): Promise<IncomingMessage | null> {
  if (!mayBeAction(req)) return req;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== "null") {
    const host = URL.canParse(origin) ? new URL(origin).host : null;
    if (host !== actionHost(req)) return refuse(res, 403, CROSS_SITE_MESSAGE) || null;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > ACTION_BODY_LIMIT)
      return refuse(res, 413, `A form's body is limited to ${ACTION_BODY_LIMIT} bytes.`) || null;
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  const problem = await undecodableAction(req, body);
  if (problem) return refuse(res, 400, problem) || null;
  return replay(req, body);
}

/** A copy of `req` (same socket, headers and URL) whose body is `body`, already read. */
function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = new IncomingMessage(req.socket);
  copy.method = req.method;
  copy.url = req.url;
  copy.headers = req.headers;
  copy.rawHeaders = req.rawHeaders;
  copy.httpVersion = req.httpVersion;
  copy.httpVersionMajor = req.httpVersionMajor;
  copy.httpVersionMinor = req.httpVersionMinor;
  copy.push(body);
  copy.push(null);
  copy.complete = true;
  return copy;
}

function refuse(res: ServerResponse, status: number, message: string): false {
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "x-content-type-options": "nosniff",
    connection: "close",
  });
  res.end(`${message}\n`);
  return false;
}
