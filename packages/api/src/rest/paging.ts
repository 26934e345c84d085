/** The links of DRF's pages: absolute URLs to the next and previous pages. */
import type { FastifyRequest } from "fastify";

/**
 * The absolute URL of another page of this request, as DRF writes `next`/`previous`: the
 * same query with `page` replaced, and without `page` for the first page.
 */
export function pageUrl(request: FastifyRequest, page: number): string {
  const url = new URL(request.url, `${request.protocol}://${request.host}`);
  if (page <= 1) url.searchParams.delete("page");
  else url.searchParams.set("page", String(page));
  return url.toString();
}
