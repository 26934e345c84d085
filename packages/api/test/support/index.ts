/**
 * What Taskport's test suites share (`@taskport/api/test-support`): a database per test file
 * on the driver the suite names, a tenant with an API key, and the API on a real HTTP server.
 */
export {
  createPostgresDatabase,
  createTestDatabase,
  type TestDatabase,
  testDriver,
  withDatabaseUrl,
} from "./db";
export { createTenant } from "./fixtures";
export { type ApiServer, freePort, startApiServer } from "./server";
