import type { Task } from "@taskport/schema";

/** The answer of the ceilings: a created task as Taskport returns it, with no database behind. */
export function fixedTask(data: Record<string, unknown>, project: number, now: Date): Task {
  return {
    id: 1,
    data,
    meta: {},
    created_at: now,
    updated_at: now,
    is_labeled: false,
    overlap: 1,
    inner_id: 1,
    total_annotations: 0,
    cancelled_annotations: 0,
    total_predictions: 0,
    comment_count: 0,
    unresolved_comment_count: 0,
    last_comment_updated_at: null,
    project,
    updated_by: null,
    file_upload: null,
    comment_authors: [],
  };
}
