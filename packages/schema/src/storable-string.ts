/**
 * The string every input field is built on (REST bodies, queries and forms, tRPC inputs, the
 * web app's forms): at most as long as a string in task JSON, and storable by PostgreSQL
 * (json-text.ts's rule), so that a U+0000 or a lone surrogate in a title, a name or an email
 * is a 400 on that field rather than a database error, or a character silently replaced.
 * Fields narrow it further (`.max()`, `.trim()`, ...) like any Zod string.
 */
import { z } from "zod";
import { JSON_LIMITS, unstorableReason } from "./json-text";

/** A string field's issue, or null: too long, or not storable. */
export function storableStringIssue(value: string): string | null {
  if (value.length > JSON_LIMITS.maxStringLength)
    return `Ensure this field has no more than ${JSON_LIMITS.maxStringLength} characters.`;
  const reason = unstorableReason(value);
  return reason ? `This field ${reason}.` : null;
}

/** `z.string(params)` with the storable-string rule; `StorableString` is the plain one. */
export function storableString(params?: Parameters<typeof z.string>[0]) {
  return z.string(params).check((ctx) => {
    const message = storableStringIssue(ctx.value);
    if (message) ctx.issues.push({ code: "custom", message, input: ctx.value, abort: true });
  });
}

export const StorableString = storableString();
