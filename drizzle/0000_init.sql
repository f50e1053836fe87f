CREATE TABLE "agents" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"owner" text DEFAULT '' NOT NULL,
	"scopes" text[] NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"rate_limit_per_minute" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"suspended_at" timestamp with time zone,
	"suspended_by" text,
	CONSTRAINT "agents_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "agent_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"agent_id" text NOT NULL,
	"token_hash" text NOT NULL,
	"display_prefix" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" text NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"revoked_by" text,
	CONSTRAINT "agent_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "admin_credentials" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "admin_credentials_name_unique" UNIQUE("name"),
	CONSTRAINT "admin_credentials_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "actions" (
	"id" text PRIMARY KEY NOT NULL,
	"agent_id" text NOT NULL,
	"action_class" text NOT NULL,
	"params" jsonb NOT NULL,
	"context" jsonb NOT NULL,
	"executor" text,
	"dry_run" boolean DEFAULT false NOT NULL,
	"idempotency_key" text NOT NULL,
	"request_hash" text NOT NULL,
	"correlation_id" text NOT NULL,
	"justification" text DEFAULT '' NOT NULL,
	"on_behalf_of" text,
	"payload_hash" text NOT NULL,
	"status" text NOT NULL,
	"decision" text NOT NULL,
	"rule_id" text,
	"reasoning" text NOT NULL,
	"policy_version" text NOT NULL,
	"escalation" jsonb,
	"approver_group" text,
	"approvals_required" integer DEFAULT 0 NOT NULL,
	"expires_at" timestamp with time zone,
	"approved_at" timestamp with time zone,
	"approved_payload_hash" text,
	"preview" jsonb,
	"result" jsonb,
	"failure" jsonb,
	"attempts" integer DEFAULT 0 NOT NULL,
	"lease_expires_at" timestamp with time zone,
	"response_status" integer,
	"response_body" jsonb,
	"slack_channel" text,
	"slack_ts" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "approvals" (
	"id" text PRIMARY KEY NOT NULL,
	"action_id" text NOT NULL,
	"approver" text NOT NULL,
	"verdict" text NOT NULL,
	"reason" text,
	"payload_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "commit_outbox" (
	"action_id" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"enqueued_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"schema_version" text DEFAULT '1' NOT NULL,
	"type" text NOT NULL,
	"action_id" text,
	"correlation_id" text,
	"agent_id" text,
	"actor" text NOT NULL,
	"policy_version" text,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"prev_hash" text,
	"hash" text,
	CONSTRAINT "audit_events_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "policy_versions" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"version" text NOT NULL,
	"outcome" text NOT NULL,
	"files" jsonb NOT NULL,
	"errors" jsonb,
	"loaded_by" text NOT NULL,
	"instance" text NOT NULL,
	"loaded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "agent_tokens" ADD CONSTRAINT "agent_tokens_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "actions" ADD CONSTRAINT "actions_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_action_id_actions_id_fk" FOREIGN KEY ("action_id") REFERENCES "public"."actions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "commit_outbox" ADD CONSTRAINT "commit_outbox_action_id_actions_id_fk" FOREIGN KEY ("action_id") REFERENCES "public"."actions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_tokens_agent_idx" ON "agent_tokens" USING btree ("agent_id");--> statement-breakpoint
CREATE UNIQUE INDEX "actions_agent_idempotency_uq" ON "actions" USING btree ("agent_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "actions_correlation_idx" ON "actions" USING btree ("correlation_id");--> statement-breakpoint
CREATE INDEX "actions_agent_created_idx" ON "actions" USING btree ("agent_id","created_at");--> statement-breakpoint
CREATE INDEX "actions_open_status_idx" ON "actions" USING btree ("status","updated_at") WHERE status in ('pending_approval', 'approved', 'queued', 'executing');--> statement-breakpoint
CREATE UNIQUE INDEX "approvals_action_approver_uq" ON "approvals" USING btree ("action_id","approver");--> statement-breakpoint
CREATE INDEX "approvals_action_idx" ON "approvals" USING btree ("action_id");--> statement-breakpoint
CREATE INDEX "commit_outbox_pending_idx" ON "commit_outbox" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "audit_action_idx" ON "audit_events" USING btree ("action_id","seq");--> statement-breakpoint
CREATE INDEX "audit_correlation_idx" ON "audit_events" USING btree ("correlation_id","seq");--> statement-breakpoint
CREATE INDEX "audit_agent_idx" ON "audit_events" USING btree ("agent_id","created_at");--> statement-breakpoint
CREATE INDEX "audit_type_created_idx" ON "audit_events" USING btree ("type","created_at");--> statement-breakpoint
CREATE INDEX "audit_created_idx" ON "audit_events" USING btree ("created_at");