DROP INDEX "annotations_task_id_idx";--> statement-breakpoint
DROP INDEX "predictions_task_id_idx";--> statement-breakpoint
ALTER TABLE "annotations" ADD COLUMN "ground_truth" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "annotations" ADD COLUMN "updated_by" integer;--> statement-breakpoint
ALTER TABLE "annotations" ADD COLUMN "draft_created_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "annotations" ADD COLUMN "import_id" bigint;--> statement-breakpoint
ALTER TABLE "annotations" ADD COLUMN "bulk_created" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "annotations" ADD COLUMN "parent_prediction_id" bigint;--> statement-breakpoint
ALTER TABLE "annotations" ADD COLUMN "parent_annotation_id" bigint;--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "cluster" integer;--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "neighbors" jsonb;--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "mislabeling" real DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "updated_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "annotations" ADD CONSTRAINT "annotations_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "annotations" ADD CONSTRAINT "annotations_parent_prediction_id_predictions_id_fk" FOREIGN KEY ("parent_prediction_id") REFERENCES "public"."predictions"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "annotations" ADD CONSTRAINT "annotations_parent_annotation_id_annotations_id_fk" FOREIGN KEY ("parent_annotation_id") REFERENCES "public"."annotations"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "annotations_updated_by_idx" ON "annotations" USING btree ("updated_by") WHERE "annotations"."updated_by" is not null;--> statement-breakpoint
CREATE INDEX "annotations_parent_prediction_id_idx" ON "annotations" USING btree ("parent_prediction_id") WHERE "annotations"."parent_prediction_id" is not null;--> statement-breakpoint
CREATE INDEX "annotations_parent_annotation_id_idx" ON "annotations" USING btree ("parent_annotation_id") WHERE "annotations"."parent_annotation_id" is not null;--> statement-breakpoint
CREATE INDEX "annotations_task_id_idx" ON "annotations" USING btree ("task_id","id");--> statement-breakpoint
CREATE INDEX "predictions_task_id_idx" ON "predictions" USING btree ("task_id","id");