/**
 * What Taskport's test suites share (`@taskport/api/test-support`): a database per test file
 * on the driver the suite names, a tenant with an API key, the API on a real HTTP server, and a
 * real S3-API server (s3rver) on loopback.
 */
export {
  createPostgresDatabase,
  createTestDatabase,
  type TestDatabase,
  testDriver,
  withDatabaseUrl,
} from "./db";
export { createTenant } from "./fixtures";
export {
  createS3Fixture,
  S3_ACCESS_KEY,
  S3_SECRET_KEY,
  s3ClientFor,
  spawnS3Server,
  startS3,
  type TestS3,
} from "./s3";
export { type ApiServer, freePort, startApiServer } from "./server";
