import "server-only";
/** Who is logged in, from the session cookie; pages that need a user send others to /login. */
import { type Actor, actorForSession, SESSION_COOKIE } from "@taskport/api";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { cache } from "react";
import { getRuntime } from "./runtime";

// Cached per request: the layout and the page ask once between them.
export const currentActor = cache(async (): Promise<Actor | null> => {
  const secret = (await cookies()).get(SESSION_COOKIE)?.value;
  if (!secret) return null;
  return actorForSession(getRuntime().db, secret);
});

/** The logged-in actor, or a redirect to /login that comes back to `returnTo` afterwards. */
export async function requireActor(returnTo: string): Promise<Actor> {
  const actor = await currentActor();
  if (!actor) redirect(`/login?next=${encodeURIComponent(returnTo)}`);
  return actor;
}
