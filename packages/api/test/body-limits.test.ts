/**
 * Every request body is bounded by maxBodyBytes while it streams in: the answer (413, or 415
 * for a content type the path has no use for) comes before the client has finished sending,
 * whatever the path, the content type or the framing (chunked, without Content-Length).
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ApiServer,
  createTenant,
  createTestDatabase,
  startApiServer,
  type TestDatabase,
} from "./support";

const LIMIT = 64 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, "a");
// 32 MiB: far more than the limit and than what socket buffers hold on the way.
const CHUNKS = 512;

let tdb: TestDatabase;
let server: ApiServer;
let token: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  server = await startApiServer({ db: tdb.db, maxBodyBytes: LIMIT });
  ({ token } = await createTenant(tdb.db));
});
afterAll(async () => {
  await server?.close();
  await tdb?.close();
});

interface Streamed {
  status: number;
  body: string;
  /** Bytes written when the answer arrived. */
  sent: number;
}

/**
 * Sends `head` then CHUNKS chunks, chunked (no Content-Length), and stops writing as soon as
 * the answer arrives.
 */
function streamUntilAnswered(
  path: string,
  headers: Record<string, string>,
  head = "",
): Promise<Streamed> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(`${server.base}${path}`, {
      method: "POST",
      headers: { authorization: `Token ${token}`, ...headers },
    });
    req.on("response", (res) => {
      answered = true;
      const at = sent;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body, sent: at });
      });
    });
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    req.write(head);
    let written = 0;
    const pump = () => {
      while (!answered && written < CHUNKS) {
        written++;
        sent += CHUNK.length;
        if (!req.write(CHUNK)) {
          req.once("drain", pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

const MULTIPART_HEAD =
  "--b0undary\r\n" +
  'Content-Disposition: form-data; name="file"; filename="big.json"\r\n' +
  "Content-Type: application/octet-stream\r\n\r\n";
const multipart = { "content-type": "multipart/form-data; boundary=b0undary" };
const json = { "content-type": "application/json" };

function expectAnsweredEarly(streamed: Streamed, status: number) {
  expect(streamed.status, streamed.body).toBe(status);
  expect(streamed.sent).toBeLessThan((CHUNKS * CHUNK.length) / 2);
}

describe("request bodies", () => {
  it("tRPC refuses a multipart body (it takes none) before reading it", async () => {
    expectAnsweredEarly(
      await streamUntilAnswered("/api/trpc/project.create", multipart, MULTIPART_HEAD),
      415,
    );
  });

  it("tRPC refuses any content type but JSON", async () => {
    for (const type of [
      "application/octet-stream",
      "text/plain",
      "application/x-www-form-urlencoded",
    ]) {
      const res = await fetch(`${server.base}/api/trpc/project.create`, {
        method: "POST",
        headers: { authorization: `Token ${token}`, "content-type": type },
        body: "title=x",
      });
      expect(res.status, type).toBe(415);
    }
  });

  it("tRPC stops reading a JSON body at the limit", async () => {
    expectAnsweredEarly(
      await streamUntilAnswered("/api/trpc/project.create", json, '{"json":"'),
      413,
    );
  });

  it("REST stops reading a multipart file at the limit", async () => {
    expectAnsweredEarly(
      await streamUntilAnswered("/api/projects/", multipart, MULTIPART_HEAD),
      413,
    );
  });

  it("REST stops reading a JSON body at the limit", async () => {
    expectAnsweredEarly(await streamUntilAnswered("/api/projects/", json, '{"title":"'), 413);
  });

  it("REST bounds the whole of a multipart body, not each part", async () => {
    const form = new FormData();
    // Each part is under the limit; together they are four times over it.
    for (let i = 0; i < 4; i++) form.append(`field${i}`, "x".repeat(LIMIT - 100));
    form.append("title", "Parts");
    const fields = await fetch(`${server.base}/api/projects/`, {
      method: "POST",
      headers: { authorization: `Token ${token}` },
      body: form,
    });
    expect(fields.status).toBe(413);
    const files = new FormData();
    for (let i = 0; i < 4; i++)
      files.append(`file${i}`, new Blob(["y".repeat(LIMIT - 100)]), `f${i}.txt`);
    files.append("title", "Files");
    const res = await fetch(`${server.base}/api/projects/`, {
      method: "POST",
      headers: { authorization: `Token ${token}` },
      body: files,
    });
    expect(res.status).toBe(413);
  });

  it("REST answers a multipart body that ends early with 400, not 500", async () => {
    const res = await fetch(`${server.base}/api/projects/`, {
      method: "POST",
      headers: { authorization: `Token ${token}`, ...multipart },
      body: `${MULTIPART_HEAD}no closing boundary`,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { validation_errors: unknown }).validation_errors).toEqual({
      non_field_errors: ["The multipart body is malformed or ends early."],
    });
  });
});
