ALTER TABLE "audit_events" ADD COLUMN "chain_lane" smallint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "audit_lane_seq_idx" ON "audit_events" USING btree ("chain_lane","seq");