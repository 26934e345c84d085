import "server-only";
import { TRPCError } from "@trpc/server";
import { notFound } from "next/navigation";
import { parseRouteId } from "~/lib/format";
import { serverCaller } from "./caller";
import { requireActor } from "./session";

/**
 * The project of a `/projects/[id]...` route for the logged-in user, or the 404 page (for a
 * malformed id as for a project of another organization: both are "not found").
 */
export async function loadProject(segment: string, subpath = "") {
  await requireActor(`/projects/${encodeURIComponent(segment)}${subpath}`);
  const id = parseRouteId(segment);
  if (id === null) notFound();
  const caller = await serverCaller();
  try {
    return await caller.project.byId({ id });
  } catch (error) {
    if (error instanceof TRPCError && error.code === "NOT_FOUND") notFound();
    throw error;
  }
}
