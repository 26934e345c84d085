/**
 * Row ids and JSON objects as every surface reads them: one bound for the `integer` id
 * columns, one test for "a JSON object" (not an array, not null).
 */
import { z } from "zod";

/** The largest value of a PostgreSQL `integer` column (projects, users, tokens). */
export const MAX_INT_ID = 2_147_483_647;

export const ProjectId = z.number().int().min(1).max(MAX_INT_ID);
export const TokenId = z.number().int().min(1).max(MAX_INT_ID);
/** Task ids are `bigint`, read as JavaScript numbers. */
export const TaskId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** A JSON object: what Label Studio calls a dict. Arrays and null are not objects here. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
