/**
 * The address a request came from, for the login limits. Next.js does not hand the socket to
 * server actions, so the server writes the address into a header of its own on every request
 * (replacing whatever a client sent under that name). Behind a proxy (TASKPORT_TRUST_PROXY)
 * the address is the last one the proxy appended to X-Forwarded-For: earlier entries are the
 * client's own words.
 */
import type { IncomingMessage } from "node:http";

export const CLIENT_ADDRESS_HEADER = "x-taskport-client-address";

export function setClientAddress(req: IncomingMessage, trustProxy: boolean): void {
  const forwarded = req.headers["x-forwarded-for"];
  const last = (Array.isArray(forwarded) ? forwarded.join(",") : forwarded)
    ?.split(",")
    .at(-1)
    ?.trim();
  req.headers[CLIENT_ADDRESS_HEADER] =
    (trustProxy && last ? last : req.socket.remoteAddress) ?? "unknown";
}
