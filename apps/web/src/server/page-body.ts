/**
 * Bodies sent to the pages (form posts to server actions), bounded before Next.js reads them.
 * Next.js bounds each field of a form post, not the whole: here a body must declare its
 * length (browsers always do for forms and fetch), and a length over the limit is refused.
 * Node's HTTP parser then delivers exactly that many bytes, so nothing larger is read.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

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
