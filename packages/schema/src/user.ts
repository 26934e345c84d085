/**
 * What a script reads to find itself (Label Studio's `/api/current-user/whoami`) and the token
 * shapes of Label Studio's legacy token endpoints.
 */
import { z } from "zod";
import { StorableString } from "./storable-string";

/** Label Studio's whoami answer: the user, its organization and its permissions. */
export const WhoAmI = z.object({
  id: z.number().int(),
  first_name: z.string(),
  last_name: z.string(),
  username: z.string(),
  email: z.string(),
  last_activity: z.date(),
  custom_hotkeys: z.record(z.string(), z.unknown()),
  avatar: z.string().nullable(),
  initials: z.string(),
  phone: z.string(),
  active_organization: z.number().int(),
  active_organization_meta: z.object({ title: z.string(), email: z.string() }),
  allow_newsletters: z.boolean().nullable(),
  date_joined: z.date(),
  permissions: z.array(z.string()),
});
export type WhoAmI = z.infer<typeof WhoAmI>;

/** `GET /api/current-user/token`, `POST /api/token/`: `{"token": ...}`. */
export const TokenValue = z.object({ token: z.string() });
export type TokenValue = z.infer<typeof TokenValue>;

/** A user added to the caller's organization (`taskport users create`). */
export const UserCreateInput = z.object({
  email: StorableString.max(254),
  password: StorableString.max(1024),
});
export type UserCreateInput = z.infer<typeof UserCreateInput>;

/** The sign-up form: a user in a new organization of their own. */
export const SignUpInput = UserCreateInput.extend({
  organizationTitle: StorableString.max(200).optional(),
});
export type SignUpInput = z.infer<typeof SignUpInput>;

/** The login form. */
export const LoginInput = UserCreateInput;
export type LoginInput = z.infer<typeof LoginInput>;
