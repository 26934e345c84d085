/**
 * A real S3-API server on loopback for tests, CI and the benchmark: s3rver (npm), storing
 * objects under the folder given as first argument. Prints `{"endpoint": "http://127.0.0.1:PORT"}`
 * on stdout once it listens, then serves until it is killed.
 *
 * Run it with `node --openssl-legacy-provider`: s3rver encrypts its ListObjectsV2 continuation
 * tokens with DES, which OpenSSL 3 (Node 18+) only offers through its legacy provider.
 * s3rver keeps objects as files, so it lists keys in the order of a folder walk: keys of one
 * width without `/` (the tests' `obj-00001.json`) come out in S3's order (UTF-8 bytes).
 */
import { mkdirSync } from "node:fs";
import S3rver from "s3rver";

const directory = process.argv[2];
const port = Number(process.argv[3] ?? 0);
if (!directory) {
  console.error("usage: node --openssl-legacy-provider s3-server.mjs <folder> [port]");
  process.exit(2);
}
mkdirSync(directory, { recursive: true });
const server = new S3rver({ address: "127.0.0.1", port, silent: true, directory });
const info = await server.run();
console.log(JSON.stringify({ endpoint: `http://127.0.0.1:${info.port}` }));
const stop = () => server.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
