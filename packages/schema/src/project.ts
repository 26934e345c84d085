import { z } from "zod";
import { ProjectId } from "./ids";
import { DEFAULT_LABEL_CONFIG } from "./label-config";
import { PageInput } from "./pagination";

export const ProjectCreateInput = z.object({
  // Label Studio lets a project be created without a title; its scripts rely on that.
  title: z.string().trim().max(200).default(""),
  description: z.string().max(10000).default(""),
  label_config: z.string().max(1_000_000).default(DEFAULT_LABEL_CONFIG),
  maximum_annotations: z.number().int().min(1).max(1000).default(1),
});
export type ProjectCreateInput = z.input<typeof ProjectCreateInput>;

export const ProjectUpdateInput = z.object({
  id: ProjectId,
  title: z.string().trim().max(200).optional(),
  description: z.string().max(10000).optional(),
  label_config: z.string().max(1_000_000).optional(),
  maximum_annotations: z.number().int().min(1).max(1000).optional(),
});
export type ProjectUpdateInput = z.input<typeof ProjectUpdateInput>;

export const ProjectByIdInput = z.object({ id: ProjectId });
export type ProjectByIdInput = z.infer<typeof ProjectByIdInput>;

export const ProjectListInput = PageInput;
export type ProjectListInput = z.input<typeof ProjectListInput>;

export const Project = z.object({
  id: z.number().int(),
  title: z.string(),
  description: z.string(),
  label_config: z.string(),
  maximum_annotations: z.number().int(),
  organization: z.number().int(),
  created_by: z.number().int().nullable(),
  created_at: z.date(),
  updated_at: z.date(),
  task_number: z.number().int(),
});
export type Project = z.infer<typeof Project>;

export const ProjectList = z.object({
  count: z.number().int(),
  results: z.array(Project),
});
export type ProjectList = z.infer<typeof ProjectList>;
