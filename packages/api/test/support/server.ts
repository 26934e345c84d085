/** The API handler on a real HTTP server on a free loopback port, as tests and scripts drive it. */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ApiHandler, type ApiHandlerOptions, createApiHandler } from "../../src/http";

export interface ApiServer {
  api: ApiHandler;
  /** `http://127.0.0.1:PORT` */
  base: string;
  server: Server;
  close(): Promise<void>;
}

/** Without `uploads.mediaDir`, uploaded files go to a folder of the server's own, removed on close. */
export async function startApiServer(options: ApiHandlerOptions): Promise<ApiServer> {
  const ownMedia = options.uploads?.mediaDir
    ? undefined
    : await mkdtemp(join(tmpdir(), "taskport-test-media-"));
  const api = await createApiHandler(
    ownMedia ? { ...options, uploads: { ...options.uploads, mediaDir: ownMedia } } : options,
  );
  const server = createServer(api.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    api,
    base,
    server,
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await api.close();
      if (ownMedia) await rm(ownMedia, { recursive: true, force: true });
    },
  };
}

/** A loopback port nothing listens on right now, for processes that take a port to listen on. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}
