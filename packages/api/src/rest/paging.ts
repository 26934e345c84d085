/**
 * Page parameters as Django REST framework's PageNumberPagination reads them: `page` must be
 * a positive integer (anything else is the 404 "Invalid page." that SDK pagers stop on);
 * `page_size` falls back to the default when unusable and is capped at the maximum (SDK 1.x
 * asks for 10,000,000 and expects a page, not an error).
 */
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type PageInput } from "@taskport/schema";
import type { FastifyRequest } from "fastify";
import { notFound } from "../errors";

export const INVALID_PAGE = "Invalid page.";

function single(value: unknown): string | undefined {
  if (Array.isArray(value)) return single(value[value.length - 1]);
  return typeof value === "string" ? value : undefined;
}

export function queryParam(request: FastifyRequest, name: string): string | undefined {
  return single((request.query as Record<string, unknown>)[name]);
}

export function pageQuery(request: FastifyRequest): PageInput {
  const rawPage = queryParam(request, "page")?.trim();
  let page = 1;
  if (rawPage !== undefined && rawPage !== "") {
    if (!/^\d+$/.test(rawPage) || Number(rawPage) < 1) throw notFound(INVALID_PAGE);
    page = Number(rawPage);
    if (!Number.isSafeInteger(page)) throw notFound(INVALID_PAGE);
  }
  const rawSize = queryParam(request, "page_size")?.trim();
  let pageSize = DEFAULT_PAGE_SIZE;
  if (rawSize && /^\d+$/.test(rawSize) && Number(rawSize) > 0) {
    pageSize = Math.min(Number(rawSize), MAX_PAGE_SIZE);
  }
  return { page, page_size: pageSize };
}

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
