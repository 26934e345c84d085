/**
 * Media uploads over real HTTP, as Label Studio takes them: one task per file pointing to
 * /data/upload/{project}/{file}; the file served back (type, ranges, sandboxed) only to the
 * project's organization; the uploads list and deletes; import records; the size limit.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fileUploads, projectImports, tasks } from "../src/db/schema";
import { STORAGE_FULL } from "../src/errors";
import { toRestError } from "../src/rest/errors";
import { parseRange } from "../src/rest/uploads";
import {
  type ApiServer,
  createTenant,
  createTestDatabase,
  startApiServer,
  type TestDatabase,
} from "./support";

const MAX_FILE = 256 * 1024;

let tdb: TestDatabase;
let server: ApiServer;
let base: string;
let media: string;
let tenant: Awaited<ReturnType<typeof createTenant>>;
let projectId: number;

beforeAll(async () => {
  tdb = await createTestDatabase();
  media = await mkdtemp(join(tmpdir(), "taskport-uploads-test-"));
  server = await startApiServer({
    db: tdb.db,
    maxImportBytes: 64 * 1024,
    uploads: { mediaDir: media, maxFileBytes: MAX_FILE },
    logError: () => {},
  });
  base = server.base;
});
afterAll(async () => {
  await server?.close();
  await tdb?.close();
  if (media) await rm(media, { recursive: true, force: true });
});
beforeEach(async () => {
  await tdb.truncate();
  await rm(join(media, "upload"), { recursive: true, force: true });
  tenant = await createTenant(tdb.db);
  const project = await tenant.caller.project.create({
    title: "Media",
    label_config:
      '<View><Image name="img" value="$image"/><Choices name="c" toName="img"><Choice value="a"/></Choices></View>',
  });
  projectId = project.id;
});

const auth = () => ({ authorization: `Token ${tenant.token}` });

async function upload(files: [name: string, content: string | Uint8Array][], query = "") {
  const form = new FormData();
  for (const [name, content] of files)
    form.append(
      name,
      new Blob([typeof content === "string" ? content : new Uint8Array(content)]),
      name,
    );
  const res = await fetch(`${base}/api/projects/${projectId}/import${query}`, {
    method: "POST",
    headers: auth(),
    body: form,
  });
  return { status: res.status, body: JSON.parse(await res.text()) };
}

async function filesOnDisk(): Promise<string[]> {
  const dir = join(media, "upload", String(projectId));
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5d2d4d40000000049454e44ae426082",
  "hex",
);

/** A reimport's answer when nothing was imported: Label Studio's zeros. */
function zeros(
  ids: number[],
  foundFormats: Record<string, number>,
  duration: unknown = expect.any(Number),
) {
  return {
    task_count: 0,
    annotation_count: 0,
    prediction_count: 0,
    duration,
    file_upload_ids: ids,
    found_formats: foundFormats,
    data_columns: [],
  };
}

/** A refusal's status and what it names: its field errors, or its detail. */
async function refusal(res: Response) {
  const body = JSON.parse(await res.text());
  return [res.status, body.validation_errors ?? body.detail];
}
describe("media uploads", () => {
  it("one task per media file, its data under the config's variable pointing to /data/upload/", async () => {
    const answer = await upload([
      ["cat one.png", PNG],
      ["dog.jpg", PNG],
    ]);
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      task_count: 2,
      annotation_count: 0,
      prediction_count: 0,
      could_be_tasks_list: false,
      found_formats: [".png", ".jpg"],
      // Label Studio's key for a file that is one task.
      data_columns: ["$undefined$"],
    });
    const uploads = await tdb.db.select().from(fileUploads).orderBy(asc(fileUploads.id));
    expect(answer.body.file_upload_ids).toEqual(uploads.map((u) => u.id));
    expect(uploads.map((u) => [u.fileName, u.format, u.size])).toEqual([
      ["cat one.png", ".png", PNG.length],
      ["dog.jpg", ".jpg", PNG.length],
    ]);
    const [cat, dog] = uploads;
    expect(cat?.file).toMatch(new RegExp(`^upload/${projectId}/[0-9a-f]{8}-cat_one\\.png$`));
    const rows = await tdb.db
      .select({ data: tasks.data, fileUploadId: tasks.fileUploadId })
      .from(tasks)
      .where(eq(tasks.projectId, projectId))
      .orderBy(asc(tasks.innerId));
    expect(rows).toEqual([
      { data: { image: `/data/${cat?.file}` }, fileUploadId: cat?.id },
      { data: { image: `/data/${dog?.file}` }, fileUploadId: dog?.id },
    ]);
    expect(await filesOnDisk()).toEqual([cat?.file, dog?.file].map((f) => f?.split("/")[2]).sort());
    expect(await readFile(join(media, cat?.file ?? ""))).toEqual(PNG);

    // The SDK's files.list and files.get shapes.
    const list = await fetch(
      `${base}/api/projects/${projectId}/file-uploads?ids=[${cat?.id},${dog?.id}]`,
      { headers: auth() },
    );
    expect(JSON.parse(await list.text())).toEqual([
      { id: cat?.id, file: cat?.file, size: PNG.length },
      { id: dog?.id, file: dog?.file, size: PNG.length },
    ]);
    const none = await fetch(`${base}/api/projects/${projectId}/file-uploads`, { headers: auth() });
    expect(JSON.parse(await none.text())).toEqual([]);
    const all = await fetch(`${base}/api/projects/${projectId}/file-uploads?all=true`, {
      headers: auth(),
    });
    expect(JSON.parse(await all.text()).map((u: { id: number }) => u.id)).toEqual([
      cat?.id,
      dog?.id,
    ]);
    const one = await fetch(`${base}/api/import/file-upload/${dog?.id}`, { headers: auth() });
    expect(JSON.parse(await one.text())).toEqual({
      id: dog?.id,
      file: dog?.file,
      size: PNG.length,
    });
  });

  it("audio, video, PDF: the config's variable; hypertext: the file's text in the task", async () => {
    const audio = await tenant.caller.project.create({
      title: "Audio",
      label_config: '<View><Audio name="a" value="$audio"/></View>',
    });
    projectId = audio.id;
    const answer = await upload([
      ["a.mp3", "ID3"],
      ["b.wav", "RIFF"],
      ["c.mp4", "mp4"],
      ["d.pdf", "%PDF-1.4"],
      ["e.html", "<p>Hi</p>"],
    ]);
    expect(answer.status).toBe(201);
    expect(answer.body.found_formats).toEqual([".mp3", ".wav", ".mp4", ".pdf", ".html"]);
    const rows = await tdb.db
      .select({ data: tasks.data })
      .from(tasks)
      .where(eq(tasks.projectId, projectId))
      .orderBy(asc(tasks.innerId));
    expect(rows.map((r) => r.data.audio)).toEqual([
      expect.stringMatching(/^\/data\/upload\/\d+\/[0-9a-f]{8}-a\.mp3$/),
      expect.stringMatching(/-b\.wav$/),
      expect.stringMatching(/-c\.mp4$/),
      expect.stringMatching(/-d\.pdf$/),
      "<p>Hi</p>",
    ]);
  });

  it("a config with several data keys refuses a media file with Label Studio's message, keeping nothing", async () => {
    const two = await tenant.caller.project.create({
      title: "Two keys",
      label_config:
        '<View><Image name="img" value="$image"/><Text name="t" value="$caption"/></View>',
    });
    projectId = two.id;
    const answer = await upload([["x.png", PNG]]);
    expect(answer.status).toBe(400);
    expect(answer.body.validation_errors.non_field_errors).toEqual([
      expect.stringMatching(
        /^Failed to parse input file [0-9a-f]{8}-x\.png: Your label config has more than one data key and direct file upload supports only one data key\. To import data with multiple data keys, use a JSON or CSV file\.$/,
      ),
    ]);
    expect(await filesOnDisk()).toEqual([]);
    expect(await tdb.db.select().from(fileUploads)).toEqual([]);
  });

  it("a file over TASKPORT_MAX_UPLOAD_BYTES is 413 and leaves nothing on disk, earlier files included", async () => {
    const answer = await upload([
      ["small.png", PNG],
      ["big.png", Buffer.alloc(MAX_FILE + 1)],
    ]);
    expect(answer.status).toBe(413);
    expect(answer.body.status_code).toBe(413);
    expect(await filesOnDisk()).toEqual([]);
    expect(await tdb.db.select().from(fileUploads)).toEqual([]);
    expect(await tdb.db.select().from(tasks)).toEqual([]);
    // Exactly the limit is fine.
    const fits = await upload([["fits.png", Buffer.alloc(MAX_FILE)]]);
    expect(fits.status).toBe(201);
  });

  it("a multipart body that ends early is a 400, not a 500, and keeps nothing", async () => {
    const res = await fetch(`${base}/api/projects/${projectId}/import`, {
      method: "POST",
      headers: { ...auth(), "content-type": "multipart/form-data; boundary=b0undary" },
      body: '--b0undary\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n\r\nno closing boundary',
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(await res.text()).validation_errors).toEqual({
      non_field_errors: ["The multipart body is malformed or ends early."],
    });
    expect(await filesOnDisk()).toEqual([]);
    expect(await tdb.db.select().from(fileUploads)).toEqual([]);
  });

  it("commit_to_project=false keeps the files as file uploads without tasks; a reimport makes them", async () => {
    const answer = await upload(
      [
        ["rows.csv", "image\nhttp://x/1.png\nhttp://x/2.png\n"],
        ["more.json", JSON.stringify([{ image: "http://x/3.png" }])],
      ],
      "?commit_to_project=false",
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(answer.body).toMatchObject({
      task_count: 3,
      found_formats: [".csv", ".json"],
      could_be_tasks_list: true,
    });
    const ids = answer.body.file_upload_ids as number[];
    expect(ids).toHaveLength(2);
    expect(await tdb.db.select().from(tasks)).toEqual([]);
    expect(await filesOnDisk()).toHaveLength(2);
    const listed = await fetch(
      `${base}/api/projects/${projectId}/file-uploads?ids=${JSON.stringify(ids)}`,
      { headers: auth() },
    );
    expect(listed.status).toBe(200);
    const uploads = (await listed.json()) as { id: number; file: string }[];
    expect(uploads.map((u) => u.id)).toEqual(ids);
    expect((await tenant.caller.project.byId({ id: projectId })).task_number).toBe(0);

    const res = await fetch(`${base}/api/projects/${projectId}/reimport`, {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({ file_upload_ids: ids }),
    });
    expect(res.status).toBe(201);
    expect(JSON.parse(await res.text())).toMatchObject({ task_count: 3, file_upload_ids: ids });
    const made = await tdb.db
      .select({ data: tasks.data, fileUploadId: tasks.fileUploadId })
      .from(tasks)
      .orderBy(asc(tasks.innerId));
    expect(made).toEqual([
      { data: { image: "http://x/1.png" }, fileUploadId: ids[0] },
      { data: { image: "http://x/2.png" }, fileUploadId: ids[0] },
      { data: { image: "http://x/3.png" }, fileUploadId: ids[1] },
    ]);
    expect((await tenant.caller.project.byId({ id: projectId })).task_number).toBe(3);

    // A refused dry run keeps nothing of its own.
    const refused = await upload([["bad.csv", "other\n1\n"]], "?commit_to_project=false");
    expect(refused.status).toBe(400);
    expect(await filesOnDisk()).toHaveLength(2);
    expect(await tdb.db.select({ id: fileUploads.id }).from(fileUploads)).toHaveLength(2);
  });
});

describe("a full disk", () => {
  let small: string;
  let mounted = false;
  let full: ApiServer;

  beforeAll(async () => {
    small = await mkdtemp(join(tmpdir(), "taskport-full-media-"));
    // A 64 KiB file system of its own: a write past it fails with ENOSPC, as on a full disk.
    mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", small]).status === 0;
    if (!mounted && process.env.CI)
      throw new Error(`CI must be able to mount a tmpfs on ${small}.`);
    full = await startApiServer({
      db: tdb.db,
      uploads: { mediaDir: small, maxFileBytes: MAX_FILE },
      logError: () => {},
    });
  });
  afterAll(async () => {
    await full?.close();
    if (mounted) spawnSync("umount", [small]);
    if (small) await rm(small, { recursive: true, force: true });
  });

  const send = (path: string, method: string, form: FormData) =>
    fetch(`${full.base}${path}`, { method, headers: auth(), body: form });
  const form = (name: string, content: Uint8Array) => {
    const body = new FormData();
    body.append("file", new Blob([content]), name);
    return body;
  };
  const kept = () => readdir(join(small, "upload", String(projectId))).catch(() => [] as string[]);

  it("an upload the disk has no room for is a 507 naming it, and leaves no file, row or task", async (context) => {
    if (!mounted) context.skip("mounting a tmpfs needs root");
    const big = new Uint8Array(200 * 1024);
    const res = await send(`/api/projects/${projectId}/import`, "POST", form("big.png", big));
    expect(res.status).toBe(507);
    expect(res.headers.get("connection")).toBe("close");
    expect(JSON.parse(await res.text())).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status_code: 507,
      version: expect.any(String),
      detail: STORAGE_FULL,
      exc_info: null,
    });
    expect(await kept()).toEqual([]);
    expect(await tdb.db.select().from(fileUploads)).toEqual([]);
    expect(await tdb.db.select().from(tasks)).toEqual([]);
    const [record] = await tdb.db.select().from(projectImports);
    expect(record).toMatchObject({ status: "failed", error: STORAGE_FULL });

    // Nothing half-written holds the space: a file that fits is kept.
    const fits = await send(`/api/projects/${projectId}/import`, "POST", form("cat.png", PNG));
    expect(fits.status).toBe(201);
    const [id = 0] = JSON.parse(await fits.text()).file_upload_ids as number[];
    const [row] = await tdb.db.select().from(fileUploads);
    expect(await kept()).toEqual([row?.file?.split("/")[2]]);

    // Replacing its file (PATCH or PUT) with one the disk has no room for: the same 507, the
    // upload unchanged.
    for (const method of ["PATCH", "PUT"]) {
      const replaced = await send(`/api/import/file-upload/${id}`, method, form("big.png", big));
      expect(replaced.status, method).toBe(507);
      expect(JSON.parse(await replaced.text()).detail).toBe(STORAGE_FULL);
      expect(await tdb.db.select().from(fileUploads)).toEqual([row]);
      expect(await kept()).toEqual([row?.file?.split("/")[2]]);
      expect(await readFile(join(small, row?.file ?? ""))).toEqual(PNG);
    }
  });

  it("a full quota (EDQUOT) or a file past the file system's largest (EFBIG) is the same 507", () => {
    for (const code of ["ENOSPC", "EDQUOT", "EFBIG"]) {
      const error = Object.assign(new Error(`${code}: write`), { code, syscall: "write" });
      const mapped = toRestError(error, { maxBodyBytes: 1 });
      expect([mapped.statusCode, mapped.body.detail, mapped.internal]).toEqual([
        507,
        STORAGE_FULL,
        undefined,
      ]);
    }
    expect(toRestError(new Error("EIO"), { maxBodyBytes: 1 }).statusCode).toBe(500);
  });
});

describe("GET /data/upload/{project}/{file}", () => {
  async function stored(name: string, content: string | Uint8Array) {
    const answer = await upload([[name, content]]);
    expect(answer.status).toBe(201);
    const [row] = await tdb.db
      .select({ file: fileUploads.file })
      .from(fileUploads)
      .where(eq(fileUploads.id, answer.body.file_upload_ids[0]));
    return `/data/${row?.file}`;
  }

  it("serves the file with its type, nosniff and a sandboxing CSP; HEAD; the SDK's one-segment name", async () => {
    const url = await stored("cat.png", PNG);
    const res = await fetch(`${base}${url}`, { headers: auth() });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
    expect(res.headers.get("content-disposition")).toBe("inline; filename*=UTF-8''cat.png");
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(Buffer.from(await res.arrayBuffer())).toEqual(PNG);
    const head = await fetch(`${base}${url}`, { method: "HEAD", headers: auth() });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(PNG.length));
    // SDK files.download: `data/upload/{project}%2F{file}`.
    const [, , , project, file] = url.split("/");
    const sdk = await fetch(`${base}/data/upload/${project}%2F${file}`, { headers: auth() });
    expect(sdk.status).toBe(200);
    expect(Buffer.from(await sdk.arrayBuffer())).toEqual(PNG);
  });

  it("answers ranges with 206 (audio/video seeking), 416 past the end", async () => {
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    const url = await stored("clip.mp3", bytes);
    const get = (range: string) => fetch(`${base}${url}`, { headers: { ...auth(), range } });
    const mid = await get("bytes=100-199");
    expect(mid.status).toBe(206);
    expect(mid.headers.get("content-range")).toBe("bytes 100-199/1000");
    expect(mid.headers.get("content-type")).toBe("audio/mpeg");
    expect(Buffer.from(await mid.arrayBuffer())).toEqual(bytes.subarray(100, 200));
    const open = await get("bytes=990-");
    expect(open.status).toBe(206);
    expect(Buffer.from(await open.arrayBuffer())).toEqual(bytes.subarray(990));
    const suffix = await get("bytes=-10");
    expect(suffix.headers.get("content-range")).toBe("bytes 990-999/1000");
    const past = await get("bytes=1000-1001");
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe("bytes */1000");
    expect(parseRange("bytes=5-2", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=0-1,4-5", 10)).toBeNull();
    expect(parseRange("items=0-1", 10)).toBeNull();
    expect(parseRange("bytes=3-99", 10)).toEqual({ start: 3, end: 9 });
  });

  it("SVG and HTML are only ever downloads, sandboxed", async () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>';
    const url = await stored("evil.svg", svg);
    const res = await fetch(`${base}${url}`, { headers: auth() });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/svg+xml");
    expect(res.headers.get("content-disposition")).toBe("attachment; filename*=UTF-8''evil.svg");
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("only to the project's organization: another's, anonymous, traversal and unknown names are 404 or 401", async () => {
    const url = await stored("cat.png", PNG);
    const other = await createTenant(tdb.db);
    const foreign = await fetch(`${base}${url}`, {
      headers: { authorization: `Token ${other.token}` },
    });
    expect(foreign.status).toBe(404);
    expect(JSON.parse(await foreign.text()).status_code).toBe(404);
    expect((await fetch(`${base}${url}`)).status).toBe(401);
    const [, , , project, file] = url.split("/");
    for (const path of [
      `/data/upload/${project}/..%2F..%2F..%2Fetc%2Fpasswd`,
      `/data/upload/${project}/%2Fetc%2Fpasswd`,
      `/data/upload/..%2F${project}%2F${file}`,
      `/data/upload/${project}/${file}/..`,
      `/data/upload/${project}/../../etc/passwd`,
      `/data/upload/${Number(project) + 1}/${file}`,
      `/data/upload/${project}/00000000-cat.png`,
      `/data/upload/%2Fetc%2Fpasswd`,
    ]) {
      const res = await fetch(`${base}${path}`, { headers: auth() });
      expect([400, 404], path).toContain(res.status);
      expect(await res.text()).not.toContain("root:");
    }
    const otherUpload = await fetch(`${base}/api/import/file-upload/1`, {
      headers: { authorization: `Token ${other.token}` },
    });
    expect(otherUpload.status).toBe(404);
  });
});

describe("deleting uploads", () => {
  it("DELETE file-uploads removes the rows and their files; the tasks stay; per-file delete too", async () => {
    const answer = await upload([
      ["a.png", PNG],
      ["b.png", PNG],
      ["c.png", PNG],
    ]);
    const [a, b, c] = answer.body.file_upload_ids as number[];
    const one = await fetch(`${base}/api/import/file-upload/${a}`, {
      method: "DELETE",
      headers: auth(),
    });
    expect(one.status).toBe(204);
    expect((await filesOnDisk()).length).toBe(2);
    const some = await fetch(`${base}/api/projects/${projectId}/file-uploads`, {
      method: "DELETE",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({ file_upload_ids: [b] }),
    });
    expect(JSON.parse(await some.text())).toEqual({ deleted: 1 });
    expect((await filesOnDisk()).length).toBe(1);
    const bad = await fetch(`${base}/api/projects/${projectId}/file-uploads`, {
      method: "DELETE",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({ file_upload_ids: "all" }),
    });
    expect(bad.status).toBe(400);
    const rest = await fetch(`${base}/api/projects/${projectId}/file-uploads`, {
      method: "DELETE",
      headers: auth(),
    });
    expect(JSON.parse(await rest.text())).toEqual({ deleted: 1 });
    expect(await filesOnDisk()).toEqual([]);
    expect(c).toBeGreaterThan(0);
    const left = await tdb.db.select({ f: tasks.fileUploadId }).from(tasks);
    expect(left).toEqual([{ f: null }, { f: null }, { f: null }]);
  });
});

// Label Studio's FileUploadAPI serves both: PUT is PATCH but for a request with no file.
describe.each(["PATCH", "PUT"] as const)("%s /api/import/file-upload/{id}", (method) => {
  const patch = (id: number, body: FormData | string | undefined, token = tenant.token) =>
    fetch(`${base}/api/import/file-upload/${id}/`, {
      method,
      headers: {
        authorization: `Token ${token}`,
        ...(typeof body === "string" ? { "content-type": "application/json" } : {}),
      },
      body,
    });
  const fileForm = (name: string, content: string | Uint8Array, field = "file") => {
    const form = new FormData();
    form.append(field, new Blob([content]), name);
    return form;
  };

  it("replaces the stored file with the one sent, as Label Studio's FileUploadAPI; a reimport reads it", async () => {
    const first = await upload([["rows.csv", "image\nhttp://x/1.png\n"]]);
    const [id = 0] = first.body.file_upload_ids as number[];
    const [before] = await tdb.db.select().from(fileUploads).where(eq(fileUploads.id, id));
    const csv = "image\nhttp://x/a.png\nhttp://x/b.png\nhttp://x/c.png\n";

    const res = await patch(id, fileForm("new rows.csv", csv));
    expect(res.status).toBe(200);
    const body = JSON.parse(await res.text());
    expect(body).toEqual({
      id,
      file: expect.stringMatching(new RegExp(`^upload/${projectId}/[0-9a-f]{8}-new_rows\\.csv$`)),
      size: csv.length,
    });
    const [after] = await tdb.db.select().from(fileUploads).where(eq(fileUploads.id, id));
    expect(after).toMatchObject({ file: body.file, fileName: "new rows.csv", format: ".csv" });
    // The old file is gone, the new one kept and served; the upload's tasks stay until a reimport.
    expect(await filesOnDisk()).toEqual([body.file.split("/")[2]]);
    expect(await readFile(join(media, body.file), "utf8")).toBe(csv);
    const served = await fetch(`${base}/data/${body.file}`, { headers: auth() });
    expect(await served.text()).toBe(csv);
    expect((await fetch(`${base}/data/${before?.file}`, { headers: auth() })).status).toBe(404);
    const got = await fetch(`${base}/api/import/file-upload/${id}`, { headers: auth() });
    expect(JSON.parse(await got.text())).toEqual(body);
    expect(await tdb.db.select({ data: tasks.data }).from(tasks)).toEqual([
      { data: { image: "http://x/1.png" } },
    ]);

    const reimported = await fetch(`${base}/api/projects/${projectId}/reimport`, {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({ file_upload_ids: [id] }),
    });
    expect(JSON.parse(await reimported.text())).toMatchObject({ task_count: 3 });

    // Several files: the last one is kept, as Django reads a repeated field.
    const two = fileForm("one.png", PNG);
    two.append("file", new Blob([csv]), "two.csv");
    const last = JSON.parse(await (await patch(id, two)).text());
    expect(last.file).toMatch(/-two\.csv$/);
    expect(await filesOnDisk()).toEqual([last.file.split("/")[2]]);

    if (method === "PATCH") {
      // No file: nothing changes (a partial update of nothing), as with Label Studio.
      const none = await patch(id, "{}");
      expect(none.status).toBe(200);
      expect(JSON.parse(await none.text())).toEqual(last);
    }
  });

  it("refuses what is not a file it keeps with a 400 naming `file`; another organization's upload is a 404", async () => {
    const first = await upload([["cat.png", PNG]]);
    const [id = 0] = first.body.file_upload_ids as number[];
    const [kept] = await tdb.db.select().from(fileUploads).where(eq(fileUploads.id, id));

    expect(await refusal(await patch(id, JSON.stringify({ file: "cat.png" })))).toEqual([
      400,
      { file: ["The submitted data was not a file. Check the encoding type on the form."] },
    ]);
    const asField = new FormData();
    asField.append("file", "cat.png");
    expect(await refusal(await patch(id, asField))).toEqual([
      400,
      { file: ["The submitted data was not a file. Check the encoding type on the form."] },
    ]);
    expect(await refusal(await patch(id, JSON.stringify({ file: null })))).toEqual([
      400,
      { file: ["This field may not be null."] },
    ]);
    expect(await refusal(await patch(id, "[1]"))).toEqual([
      400,
      { non_field_errors: ["Invalid data. Expected a dictionary, but got list."] },
    ]);
    expect(await refusal(await patch(id, fileForm("empty.png", "")))).toEqual([
      400,
      { file: ["The submitted file is empty."] },
    ]);
    expect(await refusal(await patch(id, fileForm("tool.exe", "MZ")))).toEqual([
      400,
      { file: [".exe extension is not supported"] },
    ]);
    const tooBig = await patch(id, fileForm("big.png", new Uint8Array(MAX_FILE + 1)));
    expect(tooBig.status).toBe(413);
    const endsEarly = await fetch(`${base}/api/import/file-upload/${id}`, {
      method,
      headers: { ...auth(), "content-type": "multipart/form-data; boundary=b0undary" },
      body: '--b0undary\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n\r\nno closing boundary',
    });
    expect(await refusal(endsEarly)).toEqual([
      400,
      { non_field_errors: ["The multipart body is malformed or ends early."] },
    ]);

    const other = await createTenant(tdb.db);
    expect(await refusal(await patch(id, fileForm("x.png", PNG), other.token))).toEqual([
      404,
      "No FileUpload matches the given query.",
    ]);
    expect((await patch(id + 1000, fileForm("x.png", PNG))).status).toBe(404);
    const anonymous = await fetch(`${base}/api/import/file-upload/${id}`, {
      method,
      body: fileForm("x.png", PNG),
    });
    expect(anonymous.status).toBe(401);

    // Nothing of the refused requests stays: the row and the file are as they were.
    expect(await tdb.db.select().from(fileUploads)).toEqual([kept]);
    expect(await filesOnDisk()).toEqual([kept?.file?.split("/")[2]]);
    expect(await readFile(join(media, kept?.file ?? ""))).toEqual(PNG);
  });

  it("is documented in /api/openapi.json with the upload's path, answers and file field", async () => {
    const res = await fetch(`${base}/api/openapi.json`);
    const document = JSON.parse(await res.text());
    const operation = document.paths["/api/import/file-upload/{id}"]?.[method.toLowerCase()];
    expect(Object.keys(operation?.responses ?? {})).toEqual([
      "200",
      "400",
      "401",
      "404",
      "413",
      "415",
      "507",
    ]);
    expect(Object.keys(operation.requestBody.content)).toEqual([
      "multipart/form-data",
      "application/json",
      "application/x-www-form-urlencoded",
    ]);
    const body = operation.requestBody.content["multipart/form-data"].schema;
    const schema = body.$ref
      ? document.components.schemas[body.$ref.split("/").pop() as string]
      : body;
    expect(schema.required ?? []).toEqual(method === "PUT" ? ["file"] : []);
  });
});

describe("PUT /api/import/file-upload/{id} without a file", () => {
  const put = (id: number, body: FormData | string | undefined, token = tenant.token) =>
    fetch(`${base}/api/import/file-upload/${id}`, {
      method: "PUT",
      headers: {
        authorization: `Token ${token}`,
        ...(typeof body === "string" ? { "content-type": "application/json" } : {}),
      },
      body,
    });

  it("is a full update: no file is DRF's 400 under `file`, after the upload is found; nothing changes", async () => {
    const first = await upload([["cat.png", PNG]]);
    const [id = 0] = first.body.file_upload_ids as number[];
    const [kept] = await tdb.db.select().from(fileUploads).where(eq(fileUploads.id, id));
    const otherFields = new FormData();
    otherFields.append("name", "cat.png");
    otherFields.append("attachment", new Blob([PNG]), "cat.png");
    for (const body of ["{}", JSON.stringify({ name: "cat.png" }), undefined, otherFields]) {
      expect(await refusal(await put(id, body))).toEqual([
        400,
        { file: ["No file was submitted."] },
      ]);
    }
    // The upload is looked up first, as DRF's get_object(): another organization's is a 404.
    const other = await createTenant(tdb.db);
    expect(await refusal(await put(id, "{}", other.token))).toEqual([
      404,
      "No FileUpload matches the given query.",
    ]);
    expect(await tdb.db.select().from(fileUploads)).toEqual([kept]);
    expect(await filesOnDisk()).toEqual([kept?.file?.split("/")[2]]);
  });
});

describe("import records", () => {
  it("every import leaves a record: completed with its counts, or failed with its reason", async () => {
    const answer = await upload([["a.png", PNG]], "?return_task_ids=true");
    const [record] = await tdb.db.select({ id: projectImports.id }).from(projectImports);
    const id = answer.body.import;
    expect(id).toBe(record?.id);
    const res = await fetch(`${base}/api/projects/${projectId}/imports/${id}/`, {
      headers: auth(),
    });
    expect(res.status).toBe(200);
    const body = JSON.parse(await res.text());
    expect(Object.keys(body)).toEqual([
      "id",
      "project",
      "preannotated_from_fields",
      "commit_to_project",
      "return_task_ids",
      "status",
      "url",
      "traceback",
      "error",
      "created_at",
      "updated_at",
      "finished_at",
      "task_count",
      "annotation_count",
      "prediction_count",
      "duration",
      "file_upload_ids",
      "could_be_tasks_list",
      "found_formats",
      "data_columns",
      "tasks",
      "task_ids",
    ]);
    expect(body).toMatchObject({
      id,
      project: projectId,
      preannotated_from_fields: null,
      commit_to_project: true,
      return_task_ids: true,
      status: "completed",
      url: null,
      traceback: null,
      error: null,
      task_count: 1,
      annotation_count: 0,
      prediction_count: 0,
      duration: 0,
      file_upload_ids: answer.body.file_upload_ids,
      could_be_tasks_list: false,
      found_formats: [".png"],
      data_columns: ["$undefined$"],
      tasks: null,
      task_ids: answer.body.task_ids,
    });
    expect(body.finished_at).toMatch(/Z$/);

    const failed = await fetch(`${base}/api/projects/${projectId}/import`, {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify([{ other: 1 }]),
    });
    expect(failed.status).toBe(400);
    const status = await fetch(`${base}/api/projects/${projectId}/imports/${id + 1}`, {
      headers: auth(),
    });
    expect(JSON.parse(await status.text())).toMatchObject({
      status: "failed",
      task_count: 0,
      error: expect.stringMatching(/^Error at item 0: "image" key is expected/),
    });
    // Another organization's record, or another project's path: 404.
    const other = await createTenant(tdb.db);
    const foreign = await fetch(`${base}/api/projects/${projectId}/imports/${id}/`, {
      headers: { authorization: `Token ${other.token}` },
    });
    expect(foreign.status).toBe(404);
    const elsewhere = await tenant.caller.project.create({ title: "Elsewhere" });
    const wrongProject = await fetch(`${base}/api/projects/${elsewhere.id}/imports/${id}/`, {
      headers: auth(),
    });
    expect(wrongProject.status).toBe(404);
  });
});

describe("POST /api/projects/{id}/reimport", () => {
  const reimport = (body: unknown, token = tenant.token) =>
    fetch(`${base}/api/projects/${projectId}/reimport`, {
      method: "POST",
      headers: { authorization: `Token ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("reads the uploads' files again, replacing their tasks and nothing else", async () => {
    const csv = await upload([["rows.csv", "image\nhttp://x/1.png\nhttp://x/2.png\n"]]);
    const png = await upload([["cat.png", PNG]]);
    const [csvId = 0] = csv.body.file_upload_ids as number[];
    const [pngId = 0] = png.body.file_upload_ids as number[];
    await tenant.caller.task.create({ project: projectId, data: { image: "http://x/single.png" } });
    const before = await tdb.db.select({ id: tasks.id }).from(tasks).orderBy(asc(tasks.id));
    expect(before).toHaveLength(4);

    const res = await reimport({ file_upload_ids: [csvId] });
    expect(res.status).toBe(201);
    const body = JSON.parse(await res.text());
    expect(Object.keys(body)).toEqual([
      "task_count",
      "annotation_count",
      "prediction_count",
      "duration",
      "file_upload_ids",
      "found_formats",
      "data_columns",
    ]);
    expect(body).toMatchObject({
      task_count: 2,
      annotation_count: 0,
      prediction_count: 0,
      file_upload_ids: [csvId],
      found_formats: { ".csv": 1 },
      data_columns: ["image"],
    });
    const after = await tdb.db
      .select({ id: tasks.id, data: tasks.data, fileUploadId: tasks.fileUploadId })
      .from(tasks)
      .orderBy(asc(tasks.id));
    // The CSV's two tasks are new; the PNG's and the single create are untouched.
    expect(after.map((t) => t.id).slice(0, 2)).toEqual(
      before.map((t) => t.id).filter((_, i) => i >= 2),
    );
    expect(after.slice(2).map((t) => [t.data, t.fileUploadId])).toEqual([
      [{ image: "http://x/1.png" }, csvId],
      [{ image: "http://x/2.png" }, csvId],
    ]);
    const project = await tenant.caller.project.byId({ id: projectId });
    expect(project.task_number).toBe(4);

    // files_as_tasks_list=false: the CSV is one task, its URL.
    const single = await reimport({ file_upload_ids: [csvId], files_as_tasks_list: false });
    expect(single.status).toBe(201);
    const rows = await tdb.db
      .select({ data: tasks.data })
      .from(tasks)
      .where(eq(tasks.fileUploadId, csvId));
    expect(rows).toEqual([
      { data: { image: expect.stringMatching(/^\/data\/upload\/\d+\/[0-9a-f]{8}-rows\.csv$/) } },
    ]);
    expect(pngId).toBeGreaterThan(csvId);
  });

  it("no ids: Label Studio's zeros with 200; another organization's project: 404; bad ids: 400", async () => {
    const empty = await reimport({});
    expect(empty.status).toBe(200);
    expect(JSON.parse(await empty.text())).toEqual(zeros([], {}, 0));
    const other = await createTenant(tdb.db);
    expect((await reimport({ file_upload_ids: [1] }, other.token)).status).toBe(404);
    expect((await reimport({ file_upload_ids: "all" })).status).toBe(400);
  });

  it("ids that name no upload of the project: Label Studio's 201 with zeros, and nothing changes", async () => {
    const csv = await upload([["rows.csv", "image\nhttp://x/1.png\n"]]);
    const [csvId = 0] = csv.body.file_upload_ids as number[];
    const elsewhere = await tenant.caller.project.create({
      title: "Elsewhere",
      label_config: '<View><Image name="img" value="$image"/></View>',
    });
    const mine = projectId;
    projectId = elsewhere.id;
    const theirs = await upload([["other.csv", "image\nhttp://x/2.png\n"]]);
    const [theirId = 0] = theirs.body.file_upload_ids as number[];
    projectId = mine;
    const before = await tdb.db.select().from(tasks).orderBy(asc(tasks.id));

    for (const ids of [[csvId + 1000], [theirId]]) {
      const res = await reimport({ file_upload_ids: ids });
      expect(res.status).toBe(201);
      expect(JSON.parse(await res.text())).toEqual(zeros(ids, {}));
    }
    expect(await tdb.db.select().from(tasks).orderBy(asc(tasks.id))).toEqual(before);
    // Those that name one are read, the others passed over.
    const some = await reimport({ file_upload_ids: [csvId, theirId] });
    expect(JSON.parse(await some.text())).toMatchObject({
      task_count: 1,
      file_upload_ids: [csvId, theirId],
    });
  });

  it("an upload whose file holds no rows: its tasks are removed, none made, 201 with zeros", async () => {
    const csv = await upload([["rows.csv", "image\nhttp://x/1.png\nhttp://x/2.png\n"]]);
    const json = await upload([["more.json", JSON.stringify([{ image: "http://x/3.png" }])]]);
    const [csvId = 0] = csv.body.file_upload_ids as number[];
    const [jsonId = 0] = json.body.file_upload_ids as number[];
    await tenant.caller.task.create({ project: projectId, data: { image: "http://x/single.png" } });
    const replace = (id: number, name: string, content: string) => {
      const form = new FormData();
      form.append("file", new Blob([content]), name);
      return fetch(`${base}/api/import/file-upload/${id}`, {
        method: "PATCH",
        headers: auth(),
        body: form,
      });
    };
    expect((await replace(csvId, "rows.csv", "image\n")).status).toBe(200);
    expect((await replace(jsonId, "more.json", "[]")).status).toBe(200);

    const res = await reimport({ file_upload_ids: [csvId, jsonId] });
    expect(res.status).toBe(201);
    expect(JSON.parse(await res.text())).toEqual(zeros([csvId, jsonId], { ".csv": 1, ".json": 1 }));
    // As Label Studio's remove_tasks_by_file_uploads, then a save of no tasks.
    expect(await tdb.db.select({ data: tasks.data, f: tasks.fileUploadId }).from(tasks)).toEqual([
      { data: { image: "http://x/single.png" }, f: null },
    ]);
    expect((await tenant.caller.project.byId({ id: projectId })).task_number).toBe(1);
    expect(await tdb.db.select({ id: fileUploads.id }).from(fileUploads)).toHaveLength(2);

    // Rows again: the upload makes its tasks again.
    expect((await replace(csvId, "rows.csv", "image\nhttp://x/4.png\n")).status).toBe(200);
    const again = await reimport({ file_upload_ids: [csvId] });
    expect(JSON.parse(await again.text())).toMatchObject({
      task_count: 1,
      found_formats: { ".csv": 1 },
      data_columns: ["image"],
    });
  });
});
