import type { NextConfig } from "next";

const dev = process.env.NODE_ENV === "development";

/**
 * Pages load nothing from other origins. Next.js inlines its own bootstrap scripts and styles
 * without nonces, hence 'unsafe-inline' for those two; React's development build also needs
 * eval. /api/* is served beside Next by the custom server and does not get these headers.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ""}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  `connect-src 'self'${dev ? " ws: wss:" : ""}`,
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const config: NextConfig = {
  transpilePackages: ["@taskport/api", "@taskport/schema"],
  // Native and WASM database drivers are loaded by Node as they are, not bundled.
  serverExternalPackages: ["@electric-sql/pglite", "postgres", "@node-rs/argon2", "fastify"],
  poweredByHeader: false,
  // The development server is reached as localhost or 127.0.0.1 alike (the tests use the latter).
  allowedDevOrigins: ["127.0.0.1"],
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "Content-Security-Policy", value: contentSecurityPolicy },
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "X-Frame-Options", value: "DENY" },
          { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
        ],
      },
    ];
  },
};

export default config;
