import "server-only";
import { createCaller, createTRPCContext } from "@taskport/api";
import { headers } from "next/headers";
import { getRuntime } from "./runtime";

/** A tRPC caller for server components, with the request's own headers (and so its caller). */
export async function serverCaller() {
  const { db, secretKey } = getRuntime();
  return createCaller(createTRPCContext({ db, secretKey, headers: await headers() }));
}
