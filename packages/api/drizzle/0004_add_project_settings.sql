ALTER TABLE "projects" ADD COLUMN "expert_instruction" text DEFAULT '';--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "show_instruction" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "show_skip_button" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "enable_empty_annotation" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "show_annotation_history" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "color" text DEFAULT '#FFFFFF' NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "is_published" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "model_version" text DEFAULT '';--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "is_draft" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "min_annotations_to_start_training" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "show_collab_predictions" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "sampling" text DEFAULT 'Sequential sampling' NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "show_ground_truth_first" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "annotator_evaluation_enabled" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "show_overlap_first" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "overlap_cohort_percentage" integer DEFAULT 100 NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "task_data_login" text;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "task_data_password" text;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "control_weights" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "evaluate_predictions_automatically" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "skip_queue" text DEFAULT 'REQUEUE_FOR_OTHERS' NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "reveal_preannotations_interactively" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "pinned_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "projects_organization_pinned_idx" ON "projects" USING btree ("organization_id","pinned_at" DESC NULLS LAST,"created_at" DESC NULLS LAST);