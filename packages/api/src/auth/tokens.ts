/**
 * API tokens. Only a SHA-256 of the secret is stored: tokens are long random strings, so a
 * fast hash is enough, and looking the hash up by index compares nothing in user-visible time.
 */
import { createHash, randomBytes } from "node:crypto";

/** What a token given from outside (the bootstrap admin's) may look like. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{20,128}$/;

export function generateToken(): string {
  return randomBytes(20).toString("hex");
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
