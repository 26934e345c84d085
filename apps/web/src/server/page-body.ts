/**
 * What the server checks of a request to the pages before Next.js sees it: the same
 * cross-site rule as the API for changes made with the session cookie, and the body's size.
 * Bodies sent to the pages (form posts to server actions) are bounded before Next.js reads them.
 * Next.js bounds each field of a form post, not the whole: here a body must declare its
 * length (browsers always do for forms and fetch), and a length over the limit is refused.
 * Node's HTTP parser then delivers exactly that many bytes, so nothing larger is read.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
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

function refuse(res: ServerResponse, status: number, message: string): false {
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "x-content-type-options": "nosniff",
    connection: "close",
  });
  res.end(`${message}\n`);
  return false;
}
