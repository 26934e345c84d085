/**
 * Storage credentials at rest: AES-256-GCM under a key derived (HKDF) from the server's JWT
 * signing key (auth/secret.ts), so that a database dump alone does not reveal them and the two
 * uses of the server's secret never share a key. Changing TASKPORT_SECRET_KEY makes stored
 * credentials unreadable: syncs then fail with a message asking for them again.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { PermanentJobError } from "../jobs/system";

const VERSION = "v1";
const INFO = "taskport import storage credentials";

export interface StorageCredentials {
  aws_access_key_id?: string | null;
  aws_secret_access_key?: string | null;
  aws_session_token?: string | null;
}

function keyFrom(secretKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", secretKey, new Uint8Array(0), INFO, 32));
}

export function encryptCredentials(secretKey: Uint8Array, credentials: StorageCredentials): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyFrom(secretKey), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(credentials), "utf8"), cipher.final()]);
  return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
}

export const UNREADABLE_CREDENTIALS =
  "The stored credentials cannot be decrypted (the server's secret key changed): enter them again.";

export function decryptCredentials(secretKey: Uint8Array, stored: string): StorageCredentials {
  const [version, payload] = stored.split(":");
  if (version !== VERSION || !payload) throw new PermanentJobError(UNREADABLE_CREDENTIALS);
  const raw = Buffer.from(payload, "base64url");
  try {
    const decipher = createDecipheriv("aes-256-gcm", keyFrom(secretKey), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString(
      "utf8",
    );
    return JSON.parse(text) as StorageCredentials;
  } catch {
    throw new PermanentJobError(UNREADABLE_CREDENTIALS);
  }
}
