CREATE TABLE "policy_shadow" (
	"candidate_version" text NOT NULL,
	"enforced_version" text NOT NULL,
	"shadowed" bigint DEFAULT 0 NOT NULL,
	"disagreements" bigint DEFAULT 0 NOT NULL,
	"new_allows" bigint DEFAULT 0 NOT NULL,
	"new_allows_high_risk" bigint DEFAULT 0 NOT NULL,
	"new_denies" bigint DEFAULT 0 NOT NULL,
	"new_escalations" bigint DEFAULT 0 NOT NULL,
	"approver_changes" bigint DEFAULT 0 NOT NULL,
	"first_seen" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "policy_shadow_candidate_version_enforced_version_pk" PRIMARY KEY("candidate_version","enforced_version")
);
