/**
 * The REST path's ceiling without a database: a bare node:http server that reads and parses
 * the same JSON body and answers 201 with a fixed task body.
 */
import { createServer } from "node:http";

const task = {
  id: 1,
  data: { text: "x" },
  meta: {},
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
  is_labeled: false,
  overlap: 1,
  inner_id: 1,
  total_annotations: 0,
  cancelled_annotations: 0,
  total_predictions: 0,
  comment_count: 0,
  unresolved_comment_count: 0,
  last_comment_updated_at: null,
  project: 1,
  updated_by: null,
  file_upload: null,
  comment_authors: [],
};

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { data: unknown };
    const payload = JSON.stringify({ ...task, data: body.data });
    res.writeHead(201, { "content-type": "application/json" });
    res.end(payload);
  });
});
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 }));
});
