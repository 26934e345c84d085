/**
 * What a script reads to find itself (Label Studio's `/api/current-user/whoami`) and the token
 * shapes of Label Studio's legacy token endpoints.
 */
import { z } from "zod";

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
