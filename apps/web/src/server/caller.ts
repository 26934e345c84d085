import "server-only";
import { createCaller, createTRPCContext } from "@taskport/api";
import { headers } from "next/headers";
import { getRuntime } from "./runtime";

/** A tRPC caller for server components, with the request's own headers (and so its caller). */
export async function serverCaller() {
  return createCaller(createTRPCContext({ db: getRuntime().db, headers: await headers() }));
}
