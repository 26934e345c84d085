/**
 * The REST path's ceiling without a database: a bare node:http server that reads and parses
 * the same JSON body and answers 201 with a fixed task body.
 */
import { createServer } from "node:http";
import { fixedTask } from "./fixed-task";

const now = new Date();

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
      data: Record<string, unknown>;
      project: number;
    };
    const payload = JSON.stringify(fixedTask(body.data, body.project, now));
    res.writeHead(201, { "content-type": "application/json" });
    res.end(payload);
  });
});
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 }));
});
