/**
 * Readers for the import formats (JSON array or object, JSON Lines, CSV, TSV, plain text):
 * each turns a byte stream into an async sequence of raw items, one at a time, so that memory
 * stays bounded whatever the file size. No SQL here: the CLI reads its files with the same
 * code as the server (`@taskport/api/import-formats`).
 */

import { pipeline, Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { UNDEFINED_DATA_KEY } from "@taskport/schema";
import { parse as parseCsv } from "csv-parse";

export const IMPORT_FORMATS = ["json", "jsonl", "csv", "tsv", "txt"] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/**
 * The most characters one CSV or TSV record may hold: above a task's longest string (task
 * JSON's limit, so that such a string is refused by the task rules, naming its item). The
 * parser buffers a record whole: without a bound one unclosed quote would hold the whole
 * request in memory.
 */
export const MAX_RECORD_CHARS = 8_000_000;

/**
 * The most bytes of a JSON import that is not an array (one task object), which is parsed
 * whole: arrays are streamed item by item, a single object cannot be.
 */
export const MAX_JSON_OBJECT_BYTES = 16 * 1024 * 1024;

/** A file the reader cannot parse: the client's fault, with what to fix. */
export class ImportFormatError extends Error {
  override name = "ImportFormatError";
}

/**
 * A file name's extension as Python's `os.path.splitext` finds it (Label Studio's reading):
 * from the last dot of the base name, leading dots excluded; `""` when there is none.
 */
export function extensionOf(name: string): string {
  const base = name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
  const start = base.length - base.replace(/^\.+/, "").length;
  const dot = base.lastIndexOf(".");
  return dot > start ? base.slice(dot) : "";
}

/** Label Studio's answer to a file it does not import: `.exe extension is not supported`. */
export function unsupportedExtension(name: string): string {
  return `${extensionOf(name)} extension is not supported`;
}

export function formatOfFileName(name: string): ImportFormat | null {
  const ext = extensionOf(name.trim()).slice(1).toLowerCase();
  if (ext === "ndjson") return "jsonl";
  return IMPORT_FORMATS.find((f) => f === ext) ?? null;
}

/** Formats whose rows may hold one URL each, as Label Studio flags them (`could_be_tasks_list`). */
export function couldBeTasksList(format: ImportFormat): boolean {
  return format === "csv" || format === "tsv" || format === "txt";
}

type ByteSource = AsyncIterable<Buffer | Uint8Array | string>;

/**
 * `input` as a Node stream that remembers an error of its own (a byte limit, a dropped
 * connection), so that the readers pass it on as it is instead of calling it a parse error.
 */
function tracked(input: ByteSource): { stream: Readable; failure: { error?: unknown } } {
  const failure: { error?: unknown } = {};
  const source = (async function* () {
    try {
      yield* input;
    } catch (error) {
      failure.error = error;
      throw error;
    }
  })();
  return { stream: Readable.from(source), failure };
}

/** Pipes `source` into `parser`; an error on either side destroys both and ends the reading. */
function through(source: Readable, parser: NodeJS.ReadWriteStream): Readable {
  return pipeline(source, parser, () => {}) as unknown as Readable;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Yields the items of `input` read as `format`, in order. */
export function readItems(input: ByteSource, format: ImportFormat): AsyncGenerator<unknown> {
  switch (format) {
    case "json":
      return readJson(input);
    case "jsonl":
      return readJsonLines(input);
    case "csv":
      return readDelimited(input, ",", "CSV");
    case "tsv":
      return readDelimited(input, "\t", "TSV");
    case "txt":
      return readTextLines(input);
  }
}

/**
 * A JSON array is streamed element by element; any other JSON value (a single task object) is
 * read whole, which the request's byte limit bounds.
 */
async function* readJson(input: ByteSource): AsyncGenerator<unknown> {
  const iterator = input[Symbol.asyncIterator]();
  const head: (Buffer | Uint8Array | string)[] = [];
  let first: string | undefined;
  while (first === undefined) {
    const next = await iterator.next();
    if (next.done) break;
    head.push(next.value);
    const text = typeof next.value === "string" ? next.value : Buffer.from(next.value).toString();
    const match = /[^\s\uFEFF]/.exec(text);
    if (match) first = match[0];
  }
  if (first === undefined)
    throw new ImportFormatError("The JSON is empty: send an array of tasks.");
  const rest = (async function* () {
    yield* head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      yield next.value;
  })();
  if (first !== "[") {
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of rest) {
      const buffer = Buffer.from(chunk);
      bytes += buffer.length;
      if (bytes > MAX_JSON_OBJECT_BYTES) {
        throw new ImportFormatError(
          `A JSON import that is not an array is read whole, up to ${MAX_JSON_OBJECT_BYTES} bytes: send the tasks as an array.`,
        );
      }
      chunks.push(buffer);
    }
    try {
      yield JSON.parse(
        Buffer.concat(chunks)
          .toString("utf8")
          .replace(/^\uFEFF/, ""),
      );
    } catch (error) {
      throw new ImportFormatError(`The JSON is not valid: ${describe(error)}.`);
    }
    return;
  }
  yield* readJsonArray(rest);
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

function isJsonSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

/**
 * The elements of a JSON array, each parsed by JSON.parse as soon as its text is complete.
 * A scan that only follows strings and nesting finds where each element ends; the engine's
 * own parser then reads (and validates) the element. A token-by-token streaming parser in
 * JavaScript costs several times more per byte than these two passes together. An element
 * is held whole while it arrives, as any parser that yields whole values must.
 */
async function* readJsonArray(input: ByteSource): AsyncGenerator<unknown> {
  const decoder = new StringDecoder("utf8");
  // Before the "[", before an element (or the "]" of an empty array), after the closing "]".
  // An element is read up to the "," or "]" that follows it outside any string or nesting.
  let state: "start" | "element" | "end" = "start";
  let depth = 0;
  let inString = false;
  let escaped = false;
  /** Text of the element being read, from earlier chunks. */
  let pieces: string[] = [];
  let reading = false;
  let count = 0;
  let offset = 0;
  const invalid = (detail: string) => new ImportFormatError(`The JSON is not valid: ${detail}.`);
  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw invalid(`item ${count}: ${describe(error)}`);
    }
  };
  for await (const raw of input) {
    const chunk = typeof raw === "string" ? raw : decoder.write(raw as Buffer);
    let start = reading ? 0 : -1;
    const items: unknown[] = [];
    // The next quote and backslash of the chunk, looked up again only once passed: a string's
    // characters are skipped by the engine's search rather than one by one.
    let quote = chunk.indexOf('"');
    let backslash = chunk.indexOf("\\");
    for (let i = 0; i < chunk.length; i++) {
      if (reading && inString) {
        if (escaped) {
          escaped = false;
          continue;
        }
        if (quote !== -1 && quote < i) quote = chunk.indexOf('"', i);
        if (backslash !== -1 && backslash < i) backslash = chunk.indexOf("\\", i);
        if (backslash !== -1 && (quote === -1 || backslash < quote)) {
          i = backslash;
          escaped = true;
        } else if (quote !== -1) {
          i = quote;
          inString = false;
        } else i = chunk.length;
        continue;
      }
      const code = chunk.charCodeAt(i);
      if (reading) {
        if (code === QUOTE) inString = true;
        else if (code === OPEN_BRACE || code === OPEN_BRACKET) depth++;
        else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
          if (depth > 0) depth--;
          else if (code === CLOSE_BRACKET) {
            // The array's end, right after a scalar element.
            pieces.push(chunk.slice(start, i));
            items.push(parse(pieces.join("")));
            count++;
            pieces = [];
            reading = false;
            state = "end";
          } else throw invalid(`unexpected "}" in item ${count}`);
        } else if (code === COMMA && depth === 0) {
          pieces.push(chunk.slice(start, i));
          items.push(parse(pieces.join("")));
          count++;
          pieces = [];
          reading = false;
          state = "element";
        }
        continue;
      }
      if (isJsonSpace(code) || (code === 0xfeff && state === "start" && offset + i === 0)) continue;
      switch (state) {
        case "start":
          if (code !== OPEN_BRACKET) throw invalid('expected "["');
          state = "element";
          break;
        case "element":
          if (code === CLOSE_BRACKET && count === 0) {
            state = "end";
            break;
          }
          if (code === COMMA || code === CLOSE_BRACKET) throw invalid(`item ${count} is missing`);
          reading = true;
          start = i;
          depth = 0;
          inString = false;
          escaped = false;
          i--;
          break;
        case "end":
          throw invalid('unexpected text after the closing "]"');
      }
    }
    if (reading && start >= 0) pieces.push(chunk.slice(start));
    offset += chunk.length;
    yield* items;
  }
  if (state !== "end" || reading) throw invalid("the array is not closed");
  if (decoder.end().trim() !== "") throw invalid('unexpected text after the closing "]"');
}

/**
 * The lines of `input`, a chunk's worth at a time: split at "\n", "\r\n" or a lone "\r", as
 * readline splits them, without its per-line events; a leading byte order mark dropped.
 */
async function* lines(input: ByteSource): AsyncGenerator<string[]> {
  const decoder = new StringDecoder("utf8");
  let rest = "";
  let first = true;
  for await (const raw of input) {
    const text = rest + (typeof raw === "string" ? raw : decoder.write(raw as Buffer));
    const out: string[] = [];
    let start = 0;
    // `rest` holds no line break (at most a last "\r"): the search starts past it. Each kind
    // of break is looked up again only once it has been passed.
    const from = Math.max(0, rest.length - 1);
    let nl = text.indexOf("\n", from);
    let cr = text.indexOf("\r", from);
    for (;;) {
      if (nl !== -1 && nl < start) nl = text.indexOf("\n", start);
      if (cr !== -1 && cr < start) cr = text.indexOf("\r", start);
      // A "\r" last in the chunk may be the first half of a "\r\n": wait for the next chunk.
      const end = cr !== -1 && (nl === -1 || cr < nl) && cr < text.length - 1 ? cr : nl;
      if (end === -1) break;
      out.push(text.slice(start, end));
      start = end + (end === cr && text.charCodeAt(end + 1) === 0x0a ? 2 : 1);
    }
    rest = text.slice(start);
    if (first && out.length > 0) {
      out[0] = (out[0] as string).replace(/^\uFEFF/, "");
      first = false;
    }
    if (out.length > 0) yield out;
  }
  rest += decoder.end();
  if (rest.endsWith("\r")) rest = rest.slice(0, -1);
  if (first) rest = rest.replace(/^\uFEFF/, "");
  if (rest !== "") yield [rest];
}

async function* readJsonLines(input: ByteSource): AsyncGenerator<unknown> {
  let lineNumber = 0;
  for await (const chunk of lines(input)) {
    for (const line of chunk) {
      lineNumber += 1;
      if (line.trim() === "") continue;
      let item: unknown;
      try {
        item = JSON.parse(line);
      } catch (error) {
        throw new ImportFormatError(`Line ${lineNumber} is not valid JSON: ${describe(error)}.`);
      }
      yield item;
    }
  }
}

async function* readTextLines(input: ByteSource): AsyncGenerator<unknown> {
  for await (const chunk of lines(input)) {
    for (const line of chunk) {
      if (line.trim() === "") continue;
      yield { [UNDEFINED_DATA_KEY]: line };
    }
  }
}

/** CSV and TSV: the first row names the columns; every later row is one task's data. */
async function* readDelimited(
  input: ByteSource,
  delimiter: string,
  name: string,
): AsyncGenerator<unknown> {
  const { stream, failure } = tracked(input);
  const parser = through(
    stream,
    parseCsv({
      columns: (header: string[]) => header.map((column) => column.trim()),
      delimiter,
      // Files edited on several systems mix line endings.
      record_delimiter: ["\r\n", "\n", "\r"],
      bom: true,
      skip_empty_lines: true,
      max_record_size: MAX_RECORD_CHARS,
    }),
  );
  try {
    for await (const record of parser as AsyncIterable<Record<string, string>>) yield record;
  } catch (error) {
    if (failure.error !== undefined) throw failure.error;
    const { code, lines } = error as { code?: unknown; lines?: unknown };
    if (code === "CSV_MAX_RECORD_SIZE") {
      throw new ImportFormatError(
        `Line ${lines} of the ${name} starts a record longer than ${MAX_RECORD_CHARS} characters (an unclosed quote?).`,
      );
    }
    throw new ImportFormatError(`The ${name} is not valid: ${describe(error)}.`);
  } finally {
    parser.destroy();
  }
}

/**
 * The data keys of a file's first item, as Label Studio reads them for `data_columns`: a row
 * of a table or text file is the data itself; a JSON item's `data` when it is a non-empty
 * object, else the item itself.
 */
export function dataKeysOf(item: unknown, format: ImportFormat): string[] {
  if (item === null || typeof item !== "object" || Array.isArray(item)) return [];
  if (format !== "json" && format !== "jsonl") return Object.keys(item);
  const data = (item as Record<string, unknown>).data;
  if (data !== null && typeof data === "object" && !Array.isArray(data)) {
    const keys = Object.keys(data);
    if (keys.length > 0) return keys;
  }
  return Object.keys(item);
}

/**
 * Label Studio's `data_columns` of a file import: the keys of each file's first task, kept
 * when files share some (their intersection), refused with its message when a file shares
 * none. An import of bodies has none.
 */
export class FileColumns {
  private common: string[] = [];

  /** Adds a file's first keys; answers Label Studio's message when they clash. */
  add(keys: readonly string[], file: string): string | null {
    if (this.common.length === 0) {
      this.common = [...keys];
      return null;
    }
    const shared = this.common.filter((key) => keys.includes(key));
    if (shared.length === 0) return inconsistency(keys, this.common, file);
    this.common = shared;
    return null;
  }

  list(): string[] {
    return [...this.common].sort();
  }
}

function inconsistency(fresh: readonly string[], old: readonly string[], file: string): string {
  const freshList = fresh.join(",");
  const oldList = old.join(",");
  const prefix = "You're trying to import inconsistent data:\n";
  if (freshList === UNDEFINED_DATA_KEY) {
    return `${prefix}uploading a single file ${file} clashes with data key(s) found from other files:\n"${oldList}"`;
  }
  if (oldList === UNDEFINED_DATA_KEY) {
    return `${prefix}uploading tabular data from ${file} with data key(s) ${freshList}, clashes with other raw binary files (images, audios, etc.)`;
  }
  return `${prefix}uploading tabular data from "${file}" with data key(s) "${freshList}", clashes with data key(s) found from other files:\n"${oldList}"`;
}
