import type { NextConfig } from "next";

const config: NextConfig = {
  transpilePackages: ["@taskport/api", "@taskport/schema"],
  // Native and WASM database drivers are loaded by Node as they are, not bundled.
  serverExternalPackages: ["@electric-sql/pglite", "postgres", "@node-rs/argon2", "fastify"],
  poweredByHeader: false,
};

export default config;
