/**
 * Personal access tokens in Label Studio's shape: a long-lived refresh JWT, exchanged at
 * /api/token/refresh/ for access JWTs that live five minutes. The claims follow Simple JWT's
 * names (token_type, jti, user_id) because the SDK reads token_type to recognise a PAT. Both
 * carry the id of the api_tokens row, so revoking the row ends them at the next request.
 */
import { errors, jwtVerify, SignJWT } from "jose";

export const ACCESS_TOKEN_SECONDS = 5 * 60;
// SDK 2.x takes a key for a PAT only when it is a JWT with an `exp` in the future, so refresh
// JWTs carry one, far ahead (Label Studio's default lifetime, ~200 years): revoking the row
// is what ends a PAT.
export const REFRESH_TOKEN_SECONDS = 73_000 * 24 * 3600;
const ALGORITHM = "HS256";

export type TokenType = "refresh" | "access";

export interface TokenClaims {
  tokenId: number;
  userId: number;
}

export async function signJwt(
  secret: Uint8Array,
  type: TokenType,
  claims: TokenClaims,
): Promise<string> {
  const jwt = new SignJWT({ token_type: type, user_id: claims.userId, token_id: claims.tokenId })
    .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
    .setIssuedAt()
    .setJti(`${claims.tokenId}.${crypto.randomUUID()}`);
  jwt.setExpirationTime(`${type === "access" ? ACCESS_TOKEN_SECONDS : REFRESH_TOKEN_SECONDS}s`);
  return jwt.sign(secret);
}

export type JwtCheck =
  | { ok: true; claims: TokenClaims }
  | { ok: false; reason: "expired" | "invalid" };

export async function verifyJwt(
  secret: Uint8Array,
  token: string,
  type: TokenType,
): Promise<JwtCheck> {
  try {
    const { payload } = await jwtVerify(token, secret, { algorithms: [ALGORITHM] });
    const { token_type, user_id, token_id } = payload as Record<string, unknown>;
    if (token_type !== type || typeof user_id !== "number" || typeof token_id !== "number") {
      return { ok: false, reason: "invalid" };
    }
    return { ok: true, claims: { tokenId: token_id, userId: user_id } };
  } catch (error) {
    return { ok: false, reason: error instanceof errors.JWTExpired ? "expired" : "invalid" };
  }
}
