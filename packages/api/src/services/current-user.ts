/**
 * Users as Label Studio presents them: the short user object (`created_by` of a project) and
 * the caller's own record (`/api/current-user/whoami`). Taskport keeps no names, phone or
 * avatar, so those are empty as in a fresh Label Studio account; the username is the email's
 * local part, as Label Studio's sign-up sets it.
 */
import type { UserSimple, WhoAmI } from "@taskport/schema";
import { eq } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { organizations, users } from "../db/schema";
import { notFound } from "../errors";

export function usernameOf(email: string): string {
  return email.split("@")[0] || email;
}

export function toUserSimple(user: { id: number; email: string }): UserSimple {
  return {
    id: user.id,
    first_name: "",
    last_name: "",
    username: usernameOf(user.email),
    email: user.email,
    avatar: null,
  };
}

/**
 * What Label Studio's permission checks are named; every member of an organization may do
 * everything in it, so the caller holds them all.
 */
export const PERMISSIONS = [
  "organizations.create",
  "organizations.view",
  "organizations.change",
  "organizations.delete",
  "organizations.invite",
  "projects.create",
  "projects.view",
  "projects.change",
  "projects.delete",
  "tasks.create",
  "tasks.view",
  "tasks.change",
  "tasks.delete",
  "annotations.create",
  "annotations.view",
  "annotations.change",
  "annotations.delete",
  "actions.perform",
  "predictions.any",
  "avatar.any",
  "labels.create",
  "labels.view",
  "labels.change",
  "labels.delete",
] as const;

/** The caller, in Label Studio's whoami shape. `last_activity` is now: this request. */
export async function whoAmI(db: Db, actor: Actor, now = new Date()): Promise<WhoAmI> {
  // The organization's first member stands for its owner (`active_organization_meta.email`).
  const owner = alias(users, "owner");
  const [row] = await db
    .select({
      id: users.id,
      email: users.email,
      createdAt: users.createdAt,
      organizationTitle: organizations.title,
    })
    .from(users)
    .innerJoin(organizations, eq(organizations.id, users.organizationId))
    .where(eq(users.id, actor.userId));
  if (!row) throw notFound("Not found.");
  const [first] = await db
    .select({ email: owner.email })
    .from(owner)
    .where(eq(owner.organizationId, actor.organizationId))
    .orderBy(owner.id)
    .limit(1);
  const email = row.email;
  return {
    id: row.id,
    first_name: "",
    last_name: "",
    username: usernameOf(email),
    email,
    last_activity: now,
    custom_hotkeys: {},
    avatar: null,
    initials: email.slice(0, 2),
    phone: "",
    active_organization: actor.organizationId,
    active_organization_meta: { title: row.organizationTitle, email: first?.email ?? "" },
    allow_newsletters: null,
    date_joined: row.createdAt,
    permissions: [...PERMISSIONS],
  };
}
