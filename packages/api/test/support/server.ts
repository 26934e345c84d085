/** The API handler on a real HTTP server on a free loopback port, as tests and scripts drive it. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer as createNetServer } from "node:net";
import { type ApiHandler, type ApiHandlerOptions, createApiHandler } from "../../src/http";

export interface ApiServer {
  api: ApiHandler;
  /** `http://127.0.0.1:PORT` */
  base: string;
  server: Server;
  close(): Promise<void>;
}

export async function startApiServer(options: ApiHandlerOptions): Promise<ApiServer> {
  const api = await createApiHandler(options);
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
