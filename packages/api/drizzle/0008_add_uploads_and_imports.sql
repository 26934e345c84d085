CREATE TABLE "project_imports" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "project_imports_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"project_id" integer NOT NULL,
	"created_by" integer,
	"status" text DEFAULT 'created' NOT NULL,
	"url" text,
	"traceback" text,
	"error" text,
	"commit_to_project" boolean DEFAULT true NOT NULL,
	"return_task_ids" boolean DEFAULT false NOT NULL,
	"preannotated_from_fields" jsonb,
	"task_count" integer DEFAULT 0 NOT NULL,
	"annotation_count" integer DEFAULT 0 NOT NULL,
	"prediction_count" integer DEFAULT 0 NOT NULL,
	"duration" real DEFAULT 0 NOT NULL,
	"file_upload_ids" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"could_be_tasks_list" boolean DEFAULT false NOT NULL,
	"found_formats" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"data_columns" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"task_ids" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "file_uploads" ADD COLUMN "file" text;--> statement-breakpoint
ALTER TABLE "project_imports" ADD CONSTRAINT "project_imports_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "project_imports" ADD CONSTRAINT "project_imports_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "project_imports_project_id_idx" ON "project_imports" USING btree ("project_id");--> statement-breakpoint
CREATE INDEX "project_imports_created_by_idx" ON "project_imports" USING btree ("created_by") WHERE "project_imports"."created_by" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "file_uploads_file_key" ON "file_uploads" USING btree ("file");