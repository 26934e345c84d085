/**
 * Shapes that exist only on the wire: the Label Studio error body, DRF-style pages, API
 * tokens and the health check. The REST layer answers with them and the OpenAPI document is
 * generated from them (see openapi.ts).
 */
import { z } from "zod";
import { TokenId } from "./ids";
import { Project } from "./project";
import { StorableString } from "./storable-string";

/** Every REST error: contract section 2. */
export const ErrorBody = z.object({
  id: z.uuid(),
  status_code: z.number().int(),
  version: z.string(),
  detail: z.string(),
  exc_info: z.null(),
  validation_errors: z.record(z.string(), z.array(z.string())).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** GET /api/projects/: Django REST framework's page, with absolute next/previous URLs. */
export const ProjectPage = z.object({
  count: z.number().int(),
  next: z.string().nullable(),
  previous: z.string().nullable(),
  results: z.array(Project),
});
export type ProjectPage = z.infer<typeof ProjectPage>;

/**
 * "key": a secret sent as `Token <key>` or `X-Api-Key`; "pat": a personal access token (a
 * refresh JWT) exchanged at /api/token/refresh/ for short-lived access JWTs.
 */
export const TokenKind = z.enum(["key", "pat"]);
export type TokenKind = z.infer<typeof TokenKind>;

export const TokenCreateInput = z.object({
  name: StorableString.trim().min(1).max(200),
  kind: TokenKind.default("key"),
});
export type TokenCreateInput = z.input<typeof TokenCreateInput>;

export const TokenByIdInput = z.object({ id: TokenId });
export type TokenByIdInput = z.infer<typeof TokenByIdInput>;

/** A token as listed: never its secret. */
export const Token = z.object({
  id: z.number().int(),
  name: z.string(),
  kind: TokenKind,
  created_at: z.date(),
  revoked_at: z.date().nullable(),
});
export type Token = z.infer<typeof Token>;

/** A token just created: the only time its secret is shown. */
export const TokenCreated = z.object({
  id: z.number().int(),
  name: z.string(),
  kind: TokenKind,
  token: z.string(),
  created_at: z.date(),
});
export type TokenCreated = z.infer<typeof TokenCreated>;

export const TokenRefreshInput = z.object({ refresh: StorableString.min(1) });
export type TokenRefreshInput = z.infer<typeof TokenRefreshInput>;

export const AccessToken = z.object({ access: z.string() });
export type AccessToken = z.infer<typeof AccessToken>;

export const Health = z.object({
  status: z.enum(["ok", "unavailable"]),
  database: z.enum(["pglite", "postgres"]),
});
export type Health = z.infer<typeof Health>;

/** GET /api/version: Label Studio's version document (SDKs read `release`). */
const ComponentVersion = z.looseObject({ version: z.string() });
export const VersionInfo = z.object({
  release: z.string(),
  "label-studio-os-package": z.object({
    version: z.string(),
    short_version: z.string(),
    latest_version_from_pypi: z.string().nullable(),
    latest_version_upload_time: z.string().nullable(),
    current_version_is_outdated: z.boolean(),
  }),
  "label-studio-os-backend": ComponentVersion,
  "label-studio-frontend": ComponentVersion,
  dm2: ComponentVersion,
  "label-studio-converter": ComponentVersion,
  lsf: ComponentVersion,
  backend: ComponentVersion,
  edition: z.enum(["Community", "Enterprise"]),
  taskport: z.object({ version: z.string() }),
});
export type VersionInfo = z.infer<typeof VersionInfo>;
