import type { NextConfig } from "next";

const config: NextConfig = {
  transpilePackages: ["@taskport/api", "@taskport/schema"],
  // Native and WASM database drivers are loaded by Node as they are, not bundled.
  serverExternalPackages: ["@electric-sql/pglite", "postgres", "@node-rs/argon2", "fastify"],
  poweredByHeader: false,
  // The development server is reached as localhost or 127.0.0.1 alike (the tests use the latter).
  allowedDevOrigins: ["127.0.0.1"],
  // The Content Security Policy, with a nonce per request, is set by src/proxy.ts.
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "X-Frame-Options", value: "DENY" },
          { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
        ],
      },
    ];
  },
};

export default config;
