CREATE TABLE "import_storages" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "import_storages_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"project_id" integer NOT NULL,
	"created_by" integer,
	"type" text NOT NULL,
	"title" text,
	"description" text,
	"bucket" text,
	"prefix" text,
	"path" text,
	"regex_filter" text,
	"use_blob_urls" boolean DEFAULT false NOT NULL,
	"presign" boolean DEFAULT true NOT NULL,
	"presign_ttl" integer DEFAULT 1 NOT NULL,
	"recursive_scan" boolean DEFAULT false NOT NULL,
	"region_name" text,
	"s3_endpoint" text,
	"aws_sse_kms_key_id" text,
	"credentials" text,
	"synchronizable" boolean DEFAULT true NOT NULL,
	"on_change" text DEFAULT 'update' NOT NULL,
	"on_delete" text DEFAULT 'keep' NOT NULL,
	"sync_interval_minutes" integer,
	"last_sync_job_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "storage_links" (
	"task_id" bigint PRIMARY KEY NOT NULL,
	"storage_id" integer NOT NULL,
	"key" text collate "C" NOT NULL,
	"row" integer DEFAULT 0 NOT NULL,
	"object_exists" boolean DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE TABLE "storage_objects" (
	"storage_id" integer NOT NULL,
	"key" text collate "C" NOT NULL,
	"etag" text NOT NULL,
	"size" bigint DEFAULT 0 NOT NULL,
	"task_count" integer DEFAULT 0 NOT NULL,
	"error" text,
	"synced_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "storage_objects_pkey" PRIMARY KEY("storage_id","key")
);
--> statement-breakpoint
ALTER TABLE "import_storages" ADD CONSTRAINT "import_storages_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_storages" ADD CONSTRAINT "import_storages_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_storages" ADD CONSTRAINT "import_storages_last_sync_job_id_jobs_id_fk" FOREIGN KEY ("last_sync_job_id") REFERENCES "public"."jobs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "storage_links" ADD CONSTRAINT "storage_links_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "storage_links" ADD CONSTRAINT "storage_links_storage_id_import_storages_id_fk" FOREIGN KEY ("storage_id") REFERENCES "public"."import_storages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "storage_objects" ADD CONSTRAINT "storage_objects_storage_id_import_storages_id_fk" FOREIGN KEY ("storage_id") REFERENCES "public"."import_storages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "import_storages_project_id_idx" ON "import_storages" USING btree ("project_id");--> statement-breakpoint
CREATE INDEX "import_storages_created_by_idx" ON "import_storages" USING btree ("created_by") WHERE "import_storages"."created_by" is not null;--> statement-breakpoint
CREATE INDEX "import_storages_last_sync_job_id_idx" ON "import_storages" USING btree ("last_sync_job_id") WHERE "import_storages"."last_sync_job_id" is not null;--> statement-breakpoint
CREATE INDEX "import_storages_sync_interval_idx" ON "import_storages" USING btree ("sync_interval_minutes") WHERE "import_storages"."sync_interval_minutes" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "storage_links_storage_id_key_row_key" ON "storage_links" USING btree ("storage_id","key","row");