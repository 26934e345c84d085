/**
 * Where a storage's objects come from: an S3-compatible bucket (through @aws-sdk/client-s3
 * only) or a folder under TASKPORT_LOCAL_FILES_ROOT. Both list keys in byte order (S3's own
 * order, UTF-8 binary), a page at a time, from after a given key, so that a sync can resume
 * where it stopped and walk its stored keys beside the listing. An S3 client connects only where
 * the server's network policy allows (services/network-policy.ts), checked as it connects.
 */
import { createReadStream } from "node:fs";
import { opendir, realpath, stat } from "node:fs/promises";
import { isIP } from "node:net";
import { relative, resolve, sep } from "node:path";
import {
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { TRPCError } from "@trpc/server";
import type { importStorages } from "../db/schema";
import { validationError } from "../errors";
import { PermanentJobError } from "../jobs/system";
import { guardedLookup, type NetworkPolicy, resolveTarget, TargetRefused } from "./network-policy";
import { decryptCredentials } from "./storage-crypto";

export type StorageRow = typeof importStorages.$inferSelect;

export interface ListedObject {
  key: string;
  /** ETag (S3) or size and modification time (local files): a change means new content. */
  etag: string;
  size: number;
}

export interface ListedPage {
  /** The page's objects that pass the storage's filters, in key order. */
  objects: ListedObject[];
  /** The last key the page covered (filtered out or not): the next page starts after it. */
  lastKey: string;
  /** Objects left to list from this page on, when the source knows (a local folder does). */
  remaining?: number;
}

export interface StorageSource {
  list(startAfter: string | null): AsyncIterable<ListedPage>;
  read(key: string): Promise<Buffer>;
  /** The URI a media object's task holds (`s3://bucket/key`, `/data/local-files/?d=...`). */
  uri(key: string): string;
  /** Checks that the storage can be read; throws a validation error saying why not. */
  validate(): Promise<void>;
}

export interface SourceOptions {
  secretKey?: Uint8Array;
  /** TASKPORT_LOCAL_FILES_ROOT: local storages must live under it; unset, they are refused. */
  localFilesRoot?: string;
  /** Where S3 endpoints may be (TASKPORT_OUTBOUND_ALLOW_NETWORKS / _DENY_NETWORKS). */
  network?: NetworkPolicy;
  pageSize?: number;
}

export const LOCAL_FILES_DISABLED =
  "Local folder storages are disabled on this server: set TASKPORT_LOCAL_FILES_ROOT to the folder they may read from.";

/** Byte order of UTF-8 strings, as S3 lists keys and as the `collate "C"` key columns sort. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Label Studio matches the filter at the start of the key (Python's `re.match`). */
export function keyFilter(regexFilter: string | null): (name: string) => boolean {
  if (!regexFilter) return () => true;
  const regex = new RegExp(`^(?:${regexFilter})`, "u");
  return (name) => regex.test(name);
}

/** A readable message for a regex_filter that does not compile, or null. */
export function regexFilterError(regexFilter: string | null | undefined): string | null {
  if (!regexFilter) return null;
  try {
    keyFilter(regexFilter);
    return null;
  } catch (error) {
    return `Invalid regular expression: ${(error as Error).message}`;
  }
}

export function openSource(storage: StorageRow, options: SourceOptions): StorageSource {
  return storage.type === "s3" ? s3Source(storage, options) : localSource(storage, options);
}

// --- S3 -------------------------------------------------------------------------------------

/** What a user is told when the policy refuses the endpoint's address. */
export function endpointRefused(error: TargetRefused): TRPCError {
  return validationError({
    s3_endpoint: [
      `The server may not connect to this endpoint (${error.message}). Its administrator can allow the network with TASKPORT_OUTBOUND_ALLOW_NETWORKS.`,
    ],
  });
}

export function s3ClientFor(
  storage: StorageRow,
  secretKey: Uint8Array | undefined,
  network: NetworkPolicy = {},
): S3Client {
  const credentials =
    storage.credentials && secretKey ? decryptCredentials(secretKey, storage.credentials) : {};
  // Host names are checked by the sockets' resolver as they connect (so a name that resolves
  // elsewhere later is refused then); an address literal never reaches a resolver, so each
  // request's host is checked here first.
  const lookup = guardedLookup(network);
  const client = new S3Client({
    region: storage.regionName || "us-east-1",
    endpoint: storage.s3Endpoint || undefined,
    // MinIO, s3rver and most S3-compatible servers serve buckets as paths, not subdomains.
    forcePathStyle: Boolean(storage.s3Endpoint),
    credentials:
      credentials.aws_access_key_id && credentials.aws_secret_access_key
        ? {
            accessKeyId: credentials.aws_access_key_id,
            secretAccessKey: credentials.aws_secret_access_key,
            sessionToken: credentials.aws_session_token || undefined,
          }
        : undefined,
    // Checksums only where S3 requires them: S3-compatible servers do not all know AWS's newer
    // checksum headers.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: {
      connectionTimeout: 10_000,
      requestTimeout: 120_000,
      httpAgent: { keepAlive: true, lookup },
      httpsAgent: { keepAlive: true, lookup },
    },
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      const hostname = (args.request as { hostname?: string }).hostname ?? "";
      if (isIP(hostname.replace(/^\[|\]$/g, ""))) await resolveTarget(hostname, network);
      return next(args);
    },
    { step: "finalizeRequest", name: "networkPolicy" },
  );
  return client;
}

function s3Prefix(storage: StorageRow): { prefix?: string; delimiter?: string } {
  if (!storage.prefix) return {};
  return {
    prefix: `${storage.prefix.replace(/\/+$/, "")}/`,
    delimiter: storage.recursiveScan ? undefined : "/",
  };
}

function s3Error(storage: StorageRow, error: unknown): Error {
  const bucket = storage.bucket ?? "";
  if (error instanceof TargetRefused) return endpointRefused(error);
  if (error instanceof S3ServiceException) {
    const status = error.$metadata.httpStatusCode;
    if (status === 403 || error.name === "SignatureDoesNotMatch" || error.name === "AccessDenied")
      return validationError({}, [`Cannot connect to S3 ${bucket} with specified AWS credentials`]);
    if (status === 404 || error.name === "NoSuchBucket")
      return validationError({}, [`Cannot find bucket ${bucket} in S3`]);
    return validationError({}, [`S3 answered ${status ?? "an error"}: ${error.message}`]);
  }
  const where = storage.s3Endpoint ?? "S3";
  return validationError({}, [`Cannot reach ${where}: ${(error as Error).message}`]);
}

function s3Source(storage: StorageRow, options: SourceOptions): StorageSource {
  const client = s3ClientFor(storage, options.secretKey, options.network);
  const bucket = storage.bucket ?? "";
  const { prefix, delimiter } = s3Prefix(storage);
  const matches = keyFilter(storage.regexFilter);
  return {
    async *list(startAfter) {
      let token: string | undefined;
      let previous = startAfter;
      do {
        const page = await client
          .send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix,
              Delimiter: delimiter,
              MaxKeys: options.pageSize ?? 1000,
              ContinuationToken: token,
              StartAfter: token ? undefined : (startAfter ?? undefined),
            }),
          )
          .catch((error: unknown) => {
            // Retrying cannot help until the endpoint or the policy changes.
            if (error instanceof TargetRefused)
              throw new PermanentJobError(`The storage's endpoint was refused: ${error.message}`);
            throw error;
          });
        const contents = page.Contents ?? [];
        const objects: ListedObject[] = [];
        for (const item of contents) {
          const key = item.Key;
          if (!key) continue;
          // The sync walks stored keys beside the listing: a server that does not list in
          // S3's order (UTF-8 bytes) would make present objects look deleted.
          if (previous !== null && compareKeys(key, previous) <= 0)
            throw new PermanentJobError(
              `The server listed "${key}" after "${previous}": it does not list keys in S3's order (UTF-8 bytes), which syncing needs.`,
            );
          previous = key;
          if (key.endsWith("/") || !matches(key)) continue;
          objects.push({ key, etag: item.ETag ?? "", size: item.Size ?? 0 });
        }
        const lastKey = contents.at(-1)?.Key;
        if (lastKey) yield { objects, lastKey };
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
    async read(key) {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!object.Body) return Buffer.alloc(0);
      return Buffer.from(await object.Body.transformToByteArray());
    },
    uri: (key) => `s3://${bucket}/${key}`,
    async validate() {
      try {
        if (storage.prefix) {
          const result = await client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: storage.prefix, MaxKeys: 1 }),
          );
          if (!result.KeyCount)
            throw validationError({}, [`s3://${bucket}/${storage.prefix} not found.`]);
        } else {
          await client.send(new HeadBucketCommand({ Bucket: bucket }));
        }
      } catch (error) {
        if (error instanceof TRPCError) throw error;
        throw s3Error(storage, error);
      }
    },
  };
}

/** A link to an object that expires after the storage's `presign_ttl` minutes. */
export function presignedUrl(client: S3Client, storage: StorageRow, key: string): Promise<string> {
  return getSignedUrl(client, new GetObjectCommand({ Bucket: storage.bucket ?? "", Key: key }), {
    expiresIn: storage.presignTtl * 60,
  });
}

// --- Local folders --------------------------------------------------------------------------

/** The storage's folder, checked to lie under the root (symbolic links resolved). */
export async function localFolder(path: string | null, root: string | undefined): Promise<string> {
  if (!root) throw validationError({ path: [LOCAL_FILES_DISABLED] });
  if (!path) throw validationError({ path: ["This field is required."] });
  let real: string;
  let realRoot: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(resolve(path));
  } catch {
    throw validationError({ path: [`Path ${path} does not exist`] });
  }
  if (real !== realRoot && !real.startsWith(realRoot + sep))
    throw validationError({
      path: [
        `Absolute local path "${path}" must be a subdirectory of TASKPORT_LOCAL_FILES_ROOT (${root}).`,
      ],
    });
  if (!(await stat(real)).isDirectory())
    throw validationError({ path: [`Path ${path} is not a folder`] });
  return real;
}

function localSource(storage: StorageRow, options: SourceOptions): StorageSource {
  const matches = keyFilter(storage.regexFilter);
  const pageSize = options.pageSize ?? 1000;
  let folder: Promise<string> | undefined;
  const base = () => {
    folder ??= localFolder(storage.path, options.localFilesRoot);
    return folder;
  };
  return {
    async *list(startAfter) {
      const dir = await base();
      // Keys are collected and sorted: byte order of whole paths is not the order of a walk.
      const files: ListedObject[] = [];
      const walk = async (at: string): Promise<void> => {
        for await (const entry of await opendir(at)) {
          const full = resolve(at, entry.name);
          if (entry.isDirectory()) {
            if (storage.recursiveScan) await walk(full);
          } else if (entry.isFile() && matches(entry.name)) {
            const info = await stat(full);
            const key = relative(dir, full).split(sep).join("/");
            files.push({ key, etag: `${info.size}-${Math.trunc(info.mtimeMs)}`, size: info.size });
          }
        }
      };
      await walk(dir);
      files.sort((a, b) => compareKeys(a.key, b.key));
      let start = 0;
      if (startAfter !== null) {
        while (
          start < files.length &&
          compareKeys((files[start] as ListedObject).key, startAfter) <= 0
        )
          start++;
      }
      for (let i = start; i < files.length; i += pageSize) {
        const objects = files.slice(i, i + pageSize);
        yield {
          objects,
          lastKey: (objects.at(-1) as ListedObject).key,
          remaining: files.length - i,
        };
      }
    },
    async read(key) {
      const dir = await base();
      const full = resolve(dir, key);
      if (!full.startsWith(dir + sep)) throw new Error(`${key} is outside the storage's folder`);
      const chunks: Buffer[] = [];
      for await (const chunk of createReadStream(full)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    uri(key) {
      const root = options.localFilesRoot ?? "";
      const full = resolve(storage.path ?? "", key);
      const rel = relative(resolve(root), full).split(sep).join("/");
      return `/data/local-files/?d=${encodeURIComponent(rel)}`;
    },
    async validate() {
      await base();
    },
  };
}
