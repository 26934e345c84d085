"use server";
/**
 * Sign up, log in and log out as server actions: plain HTML forms post to them, so they work
 * before (or without) JavaScript. Sessions live in the database; the cookie holds only a
 * random secret, httpOnly, SameSite=Lax, and Secure whenever the request came over HTTPS.
 */
import {
  createSession,
  createUserWithOrganization,
  deleteSession,
  errorField,
  SESSION_COOKIE,
  verifyLogin,
} from "@taskport/api";
import { TRPCError } from "@trpc/server";
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { safeNextPath } from "~/lib/safe-next";
import { CLIENT_ADDRESS_HEADER } from "./client-address";
import { getRuntime } from "./runtime";

export interface AuthFormState {
  /** What the user typed, so that a refused form comes back filled in (never the password). */
  email: string;
  organization?: string;
  error?: { field: "email" | "password" | "form"; message: string };
}

function text(formData: FormData, name: string): string {
  const value = formData.get(name);
  return typeof value === "string" ? value : "";
}

async function startSession(userId: number): Promise<void> {
  const { db } = getRuntime();
  const { secret, expiresAt } = await createSession(db, userId);
  const requestHeaders = await headers();
  // Behind a TLS-terminating proxy the request reaches us as plain HTTP: trust its header.
  const https = requestHeaders.get("x-forwarded-proto")?.split(",")[0]?.trim() === "https";
  (await cookies()).set(SESSION_COOKIE, secret, {
    httpOnly: true,
    sameSite: "lax",
    secure: https,
    path: "/",
    expires: expiresAt,
  });
}

/** Expected refusals (bad input, taken email, wrong password, lockout) become form errors. */
function refusal(error: unknown): string {
  if (error instanceof TRPCError && error.code !== "INTERNAL_SERVER_ERROR") return error.message;
  throw error;
}

export async function signUp(_prev: AuthFormState, formData: FormData): Promise<AuthFormState> {
  const email = text(formData, "email");
  const password = text(formData, "password");
  const organization = text(formData, "organization").trim();
  let userId: number;
  try {
    const user = await createUserWithOrganization(getRuntime().db, {
      email,
      password,
      organizationTitle: organization || undefined,
    });
    userId = user.id;
  } catch (error) {
    const message = refusal(error);
    return {
      email,
      organization,
      error: { field: errorField(error) === "password" ? "password" : "email", message },
    };
  }
  await startSession(userId);
  redirect("/projects");
}

export async function logIn(_prev: AuthFormState, formData: FormData): Promise<AuthFormState> {
  const email = text(formData, "email");
  let userId: number;
  try {
    const address = (await headers()).get(CLIENT_ADDRESS_HEADER) ?? "unknown";
    const user = await verifyLogin(getRuntime().db, email, text(formData, "password"), address);
    userId = user.id;
  } catch (error) {
    return { email, error: { field: "form", message: refusal(error) } };
  }
  await startSession(userId);
  redirect(safeNextPath(formData.get("next")));
}

export async function logOut(): Promise<void> {
  const jar = await cookies();
  const secret = jar.get(SESSION_COOKIE)?.value;
  // Deleting the row ends the session everywhere, not only in this browser.
  if (secret) await deleteSession(getRuntime().db, secret);
  jar.delete(SESSION_COOKIE);
  redirect("/login");
}
