/**
 * `taskport import <file>`: streams a file in chunks to `task.import`, one chunk in flight
 * while the next is read. Each chunk carries an idempotency key made of the project, the
 * chunk's index and the SHA-256 of its content, so re-running an interrupted (or failed, then
 * fixed) import replays the chunks already committed and creates nothing twice.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { Transform } from "node:stream";
import { formatOfFileName, type ImportFormat, readItems } from "@taskport/api/import-formats";
import { type TaskportClient, TRPCClientError } from "@taskport/client";
import { SingleBar } from "cli-progress";

export const DEFAULT_CHUNK_TASKS = 5000;
// Under the server's default 10 MiB request limit, with room for the envelope.
const MAX_CHUNK_BYTES = 6 * 1024 * 1024;

export interface ImportFileOptions {
  project: number;
  format?: ImportFormat;
  chunkSize?: number;
  dryRun?: boolean;
  /** Show the progress bar (on a terminal). */
  progress?: boolean;
  log?: (line: string) => void;
}

export interface ImportSummary {
  tasks: number;
  annotations: number;
  predictions: number;
  chunks: number;
  seconds: number;
}

/** An import that stopped on the server's refusal; `messages` are ready to print. */
export class ImportFailed extends Error {
  constructor(
    readonly messages: string[],
    readonly summary: ImportSummary,
  ) {
    super(messages[0] ?? "The import failed.");
  }
}

interface Chunk {
  index: number;
  firstItem: number;
  items: unknown[];
  /** File bytes read when the chunk was cut, for the progress bar. */
  bytesRead: number;
}

async function* chunksOf(
  items: AsyncIterable<unknown>,
  size: number,
  bytesRead: () => number,
): AsyncGenerator<Chunk> {
  let chunk: unknown[] = [];
  let bytes = 0;
  let index = 0;
  let firstItem = 0;
  for await (const item of items) {
    chunk.push(item);
    bytes += (JSON.stringify(item) ?? "").length;
    if (chunk.length >= size || bytes >= MAX_CHUNK_BYTES) {
      yield { index, firstItem, items: chunk, bytesRead: bytesRead() };
      index++;
      firstItem += chunk.length;
      chunk = [];
      bytes = 0;
    }
  }
  if (chunk.length > 0) yield { index, firstItem, items: chunk, bytesRead: bytesRead() };
}

export function chunkKey(project: number, chunk: Chunk, chunkSize: number): string {
  const digest = createHash("sha256")
    .update(`${chunkSize}\n`)
    .update(JSON.stringify(chunk.items))
    .digest("hex");
  return `taskport-cli:p${project}:c${chunk.index}:${digest}`;
}

/** The server's per-item messages with item numbers counted from the start of the file. */
export function explainError(error: unknown, firstItem: number): string[] {
  if (!(error instanceof TRPCClientError)) {
    return [error instanceof Error ? error.message : String(error)];
  }
  const data = error.data as
    | {
        code?: string;
        zodError?: { formErrors?: string[]; fieldErrors?: Record<string, string[]> };
      }
    | undefined;
  if (!data) return [`Cannot reach the server (${error.message}): check --url and that it runs.`];
  const formErrors = data?.zodError?.formErrors ?? [];
  const messages = formErrors.length > 0 ? formErrors : [error.message];
  const shifted = messages.map((m) =>
    m.replace(/^Error at item (\d+):/, (_, i: string) => `Error at item ${firstItem + Number(i)}:`),
  );
  if (data?.code === "UNPROCESSABLE_CONTENT") {
    shifted.push(
      "This chunk was imported before with different content or options (another --chunk-size or --dry-run?): re-run with the same options, or import into a new project.",
    );
  }
  return shifted;
}

export async function importFile(
  client: TaskportClient,
  path: string,
  options: ImportFileOptions,
): Promise<ImportSummary> {
  const format = options.format ?? formatOfFileName(path);
  if (!format) {
    throw new ImportFailed(
      [
        `Cannot tell the format of ${basename(path)}: name it .json, .jsonl, .csv, .tsv or .txt, or pass --format.`,
      ],
      { tasks: 0, annotations: 0, predictions: 0, chunks: 0, seconds: 0 },
    );
  }
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_TASKS;
  const total = (await stat(path)).size;
  let read = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      read += chunk.length;
      done(null, chunk);
    },
  });
  const stream = createReadStream(path).pipe(counter);
  const started = performance.now();
  const summary: ImportSummary = {
    tasks: 0,
    annotations: 0,
    predictions: 0,
    chunks: 0,
    seconds: 0,
  };

  const bar = options.progress
    ? new SingleBar({
        format: "{bar} {percentage}% | {tasks} tasks | {rate} tasks/s | ETA {eta_formatted}",
        hideCursor: true,
        etaBuffer: 20,
      })
    : null;
  bar?.start(total, 0, { tasks: 0, rate: 0 });

  const send = async (chunk: Chunk) => {
    try {
      const result = await client.task.import.mutate({
        project: options.project,
        items: chunk.items,
        commitToProject: !options.dryRun,
        // A dry run creates nothing, so it needs no key (and must not take one a real run needs).
        idempotencyKey: options.dryRun ? undefined : chunkKey(options.project, chunk, chunkSize),
      });
      summary.tasks += result.task_count;
      summary.annotations += result.annotation_count;
      summary.predictions += result.prediction_count;
      summary.chunks += 1;
      const seconds = (performance.now() - started) / 1000;
      bar?.update(chunk.bytesRead, {
        tasks: summary.tasks.toLocaleString("en-US"),
        rate: Math.round(summary.tasks / Math.max(seconds, 0.001)).toLocaleString("en-US"),
      });
    } catch (error) {
      throw new ImportFailed(explainError(error, chunk.firstItem), summary);
    }
  };

  try {
    let inFlight: Promise<void> | null = null;
    try {
      for await (const chunk of chunksOf(readItems(stream, format), chunkSize, () => read)) {
        // Chunks commit in file order, so inner_ids follow the file: one request at a time,
        // while the next chunk is being read.
        if (inFlight) await inFlight;
        inFlight = send(chunk);
        // Unhandled until awaited: keep Node from reporting it early.
        inFlight.catch(() => {});
      }
    } catch (error) {
      if (error instanceof ImportFailed) throw error;
      if (inFlight) await inFlight;
      throw new ImportFailed([`${basename(path)}: ${(error as Error).message}`], summary);
    }
    if (inFlight) await inFlight;
    bar?.update(total);
  } finally {
    bar?.stop();
    stream.destroy();
    summary.seconds = (performance.now() - started) / 1000;
  }
  if (summary.chunks === 0) {
    throw new ImportFailed([`${basename(path)} holds no tasks.`], summary);
  }
  return summary;
}
