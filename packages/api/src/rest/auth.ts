/**
 * Who calls a REST endpoint: the same credentials as tRPC (see auth/actor.ts, which says how
 * long a valid API key is remembered and how a revocation ends that at once). A browser
 * session may not be used from another origin to change anything (auth/cross-site.ts).
 */
import type { FastifyRequest } from "fastify";
import { type Actor, resolveActor } from "../auth/actor";
import { refuseCrossSiteChange } from "../auth/cross-site";
import type { Db } from "../db/client";
import type { JobSystem } from "../jobs";
import type { NetworkPolicy } from "../services/network-policy";
import { type UploadSettings, uploadSettingsOf } from "../services/uploads";

export interface RestOptions {
  db: Db;
  /** Durable jobs (storage syncs, ...). */
  jobs?: JobSystem;
  /** TASKPORT_LOCAL_FILES_ROOT: local folder storages must lie under it (unset: refused). */
  localFilesRoot?: string;
  /** Signs personal access tokens and their access JWTs. */
  secretKey?: Uint8Array;
  /** Where webhooks and S3 storages may connect (TASKPORT_OUTBOUND_ALLOW_NETWORKS / _DENY_NETWORKS). */
  network?: NetworkPolicy;
  maxBodyBytes: number;
  /** Largest body of POST /api/projects/{id}/import (default 250 MiB, see rest/import.ts). */
  maxImportBytes?: number;
  /** Multipart imports larger than this run as jobs (TASKPORT_ASYNC_IMPORT_BYTES, 64 MiB). */
  asyncImportBytes?: number;
  /** Uploaded files: where they are kept and the largest one (see services/uploads.ts). */
  uploads?: Partial<UploadSettings>;
  /** Where unexpected errors are reported, with the id the client sees. */
  logError?: (id: string, error: unknown) => void;
}

/** The upload settings, defaulted: a folder under the system's temporary one, 5 GiB a file. */
export function uploadSettings(options: RestOptions): UploadSettings {
  return uploadSettingsOf(options.uploads);
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The caller of `request`, or a TRPCError UNAUTHORIZED (401) / FORBIDDEN (403). */
export async function authenticate(request: FastifyRequest, options: RestOptions): Promise<Actor> {
  const actor = await resolveActor(options.db, request.headers, { secretKey: options.secretKey });
  refuseCrossSiteChange(request.headers, !SAFE_METHODS.has(request.method));
  return actor;
}
