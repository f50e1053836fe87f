CREATE TABLE "config_versions" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"version" text NOT NULL,
	"outcome" text NOT NULL,
	"path" text NOT NULL,
	"snapshot" jsonb,
	"diff" jsonb NOT NULL,
	"errors" jsonb,
	"changed_by" text NOT NULL,
	"reason" text NOT NULL,
	"instance" text NOT NULL,
	"loaded_at" timestamp with time zone DEFAULT now() NOT NULL
);
