import { MAX_INT_ID } from "@taskport/schema";

/**
 * Dates shown the same on the server and in the browser: the server renders first and React
 * hydrates in the browser, so a locale- or timezone-dependent format would differ between the
 * two and raise a hydration error.
 */
export function formatDateTime(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** A positive database id from a route segment, or null (the page answers 404). */
export function parseRouteId(segment: string): number | null {
  if (!/^[1-9]\d{0,9}$/.test(segment)) return null;
  const id = Number(segment);
  return id <= MAX_INT_ID ? id : null;
}

/** A counter of a project; null when it was not computed. */
export function formatCount(value: number | null): string {
  return value === null ? "—" : value.toLocaleString("en-US");
}
