/**
 * A real S3-API server for a test file: the one CI started (TEST_S3_ENDPOINT), or an s3rver
 * process of the file's own (scripts/s3-server.mjs) on a free loopback port. Tests reach it
 * only through @aws-sdk/client-s3, as Taskport does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";

/** s3rver's built-in account. */
export const S3_ACCESS_KEY = "S3RVER";
export const S3_SECRET_KEY = "S3RVER";

export const S3_SERVER_SCRIPT = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "scripts",
  "s3-server.mjs",
);

export interface TestS3 {
  endpoint: string;
  client: S3Client;
  createBucket(): Promise<string>;
  put(bucket: string, key: string, body: string | Buffer): Promise<void>;
  remove(bucket: string, key: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts s3rver in a process of its own; resolves with its endpoint once it listens. */
export async function spawnS3Server(
  directory: string,
): Promise<{ endpoint: string; process: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ["--openssl-legacy-provider", S3_SERVER_SCRIPT, directory],
    { stdio: ["ignore", "pipe", "inherit"], detached: true },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code}`)));
    lines.once("line", (line) => resolve((JSON.parse(line) as { endpoint: string }).endpoint));
  });
  return { endpoint, process: child };
}

export function s3ClientFor(endpoint: string): S3Client {
  return new S3Client({
    region: "us-east-1",
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** The same, for other packages (reliability, bench): with the account's keys at hand. */
export async function createS3Fixture(): Promise<
  TestS3 & { accessKeyId: string; secretAccessKey: string }
> {
  return { ...(await startS3()), accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY };
}

export async function startS3(): Promise<TestS3> {
  let endpoint = process.env.TEST_S3_ENDPOINT;
  let stop = async () => {};
  if (!endpoint) {
    const directory = mkdtempSync(join(tmpdir(), "taskport-s3-"));
    const server = await spawnS3Server(directory);
    endpoint = server.endpoint;
    stop = async () => {
      const exited = new Promise((resolve) => server.process.once("exit", resolve));
      server.process.kill("SIGTERM");
      await exited;
      rmSync(directory, { recursive: true, force: true });
    };
  }
  const client = s3ClientFor(endpoint);
  return {
    endpoint,
    client,
    async createBucket() {
      const bucket = `taskport-${randomBytes(6).toString("hex")}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    async put(bucket, key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async remove(bucket, key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    async close() {
      client.destroy();
      await stop();
    },
  };
}
