-- 0016: the release path's writes for a batch in one statement (src/release/writer.ts), as intake_commit
-- (drizzle/0008, 0010) is for the allow path; and the evidence linking both use, in one place.
--
-- audit_link_events(lane, events): links events prepared by the application (src/audit/chain-template.ts)
-- into one chain lane, exactly as src/audit/append.ts does: same lock (727275, lane), seq numbers from the
-- same sequence, created_at from the database clock and never before the lane's head, hash =
-- sha256(prev_hash || canonical JSON of the event), the canonical JSON cut by the application around the two
-- values only the database knows (`head` ends with `"created_at":"`, `mid` runs to `"seq":`, `tail` is the rest).
CREATE OR REPLACE FUNCTION audit_link_events(v_lane integer, v_events jsonb)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_n integer := coalesce(jsonb_array_length(v_events), 0);
  v_seqs bigint[];
  v_prev text;
  v_head_ms double precision;
  v_ms double precision;
  v_at timestamptz;
  v_iso text;
  v_prevs text[] := '{}';
  v_hashes text[] := '{}';
  v_i integer := 0;
  e jsonb;
BEGIN
  IF v_n = 0 THEN
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock(727275, v_lane);
  v_seqs := array(SELECT nextval('audit_events_seq_seq') FROM generate_series(1, v_n));
  SELECT h.hash, extract(epoch FROM h.created_at) * 1000 INTO v_prev, v_head_ms
    FROM audit_events h WHERE h.chain_lane = v_lane ORDER BY h.seq DESC LIMIT 1;
  v_ms := greatest(floor(extract(epoch FROM clock_timestamp()) * 1000), round(coalesce(v_head_ms, 0)));
  v_at := timestamptz 'epoch' + v_ms * interval '1 millisecond';
  v_iso := to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
  v_prev := coalesce(v_prev, repeat('0', 64));
  -- Hashes are computed in order (each links to the previous); the rows are then inserted in one statement.
  FOR e IN SELECT x FROM jsonb_array_elements(v_events) WITH ORDINALITY AS t(x, n) ORDER BY n LOOP
    v_i := v_i + 1;
    v_prevs[v_i] := v_prev;
    v_prev := encode(sha256(convert_to(
      v_prev || (e->>'head') || v_iso || (e->>'mid') || v_seqs[v_i]::text || (e->>'tail'), 'UTF8')), 'hex');
    v_hashes[v_i] := v_prev;
  END LOOP;
  INSERT INTO audit_events (seq, chain_lane, id, schema_version, type, action_id, correlation_id, agent_id, actor,
                            policy_version, data, created_at, prev_hash, hash)
  SELECT v_seqs[n], v_lane, x->>'id', x->>'schema_version', x->>'type', x->>'action_id', x->>'correlation_id',
         x->>'agent_id', x->>'actor', x->>'policy_version', x->'data', v_at, v_prevs[n], v_hashes[n]
  FROM jsonb_array_elements(v_events) WITH ORDINALITY AS t(x, n);
END;
$$;
--> statement-breakpoint
-- release_write(p): for a batch of the commit worker's jobs, in its own implicit transaction:
--   1. records: each executor answer moves its action from `executing` with the claim's attempt (the fence: a
--      worker whose lease was taken over records nothing) to committed | failed | queued, settles the budget
--      reservations of the actions it ended and then their counters (locked in key order);
--   2. claims: each action is claimed (approved|queued → executing, attempt + 1, a new lease) only if its row
--      is still the very version the application read and re-checked (`xmin`, which every change of the row
--      changes) and its agent is still active: the application's re-checks hold for what is claimed; a row
--      changed meanwhile (also while this waited for its lock) is not claimed here, and the application claims
--      it the careful way (src/release/claim.ts);
--   3. evidence: the events of the transitions that happened (each event names its transition in `gate`) are
--      linked into one lane (audit_link_events).
-- It answers one row per transition that happened: kind `moved` (id, attempts) or `claimed` (id, new attempts,
-- lease_expires_at and updated_at as epoch milliseconds).
--
-- Why one statement per action, in id order, with its status test written `(…) IS TRUE`: each must find its
-- row by primary key, a plan that costs the same at any backlog. The set-based form (`id = any(…) and status
-- …`) was planned once per connection as a scan of the open-status index, or a bitmap AND with it, which reads
-- every open action: measured, 1,000 index entries read to claim 2 actions, and per-job database CPU that grew
-- with the queue. Even `id = value and status = 'executing'` is served from that index when few actions are
-- executing at planning time; `(status = …) IS TRUE` means the same for a NOT NULL column, and no index can
-- serve it, so the key lookup is the only plan left. Id order keeps two batches from locking rows in opposite
-- orders. (test/release/optimistic-claim.test.ts counts the index entries read.)
CREATE OR REPLACE FUNCTION release_write(p jsonb)
RETURNS TABLE (kind text, id text, attempts integer, lease_expires_ms double precision, updated_ms double precision)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  r record;
  c record;
  s record;
  v_kinds text[] := '{}';
  v_ids text[] := '{}';
  v_attempts integer[] := '{}';
  v_leases timestamptz[] := '{}';
  v_updated timestamptz[] := '{}';
  v_gates text[] := '{}';
  v_settled jsonb := '[]';
  v_att integer;
  v_lease timestamptz;
  v_upd timestamptz;
BEGIN
  -- 1. Records.
  FOR r IN
    SELECT * FROM jsonb_to_recordset(coalesce(p->'records', '[]'))
      AS v(id text, attempts int, status text, result jsonb, failure jsonb, finished_at timestamptz, settle text)
    ORDER BY v.id
  LOOP
    UPDATE actions a SET
      status = r.status,
      result = CASE WHEN r.status = 'committed' THEN r.result ELSE a.result END,
      failure = CASE WHEN r.status = 'failed' THEN r.failure ELSE a.failure END,
      finished_at = coalesce(r.finished_at, a.finished_at),
      lease_expires_at = NULL,
      updated_at = now()
    WHERE a.id = r.id AND (a.status = 'executing') IS TRUE AND a.attempts = r.attempts;
    CONTINUE WHEN NOT FOUND;
    v_kinds := v_kinds || 'moved'::text;
    v_ids := v_ids || r.id;
    v_attempts := v_attempts || r.attempts;
    v_leases := v_leases || NULL::timestamptz;
    v_updated := v_updated || NULL::timestamptz;
    v_gates := v_gates || ('record:' || r.id || ':' || r.attempts);
    CONTINUE WHEN r.settle IS NULL;
    FOR s IN
      UPDATE budget_reservations b SET state = r.settle, settled_at = now()
      WHERE b.action_id = r.id AND (b.state = 'reserved') IS TRUE
      RETURNING b.budget, b.scope_key, b."window", b.amount, b.state
    LOOP
      v_settled := v_settled || to_jsonb(s);
    END LOOP;
  END LOOP;

  IF jsonb_array_length(v_settled) > 0 THEN
    -- One update per counter, the counters locked in key order first (as settleCounters does).
    PERFORM 1 FROM budget_counters k
      WHERE (k.budget, k.scope_key, k."window") IN (
        SELECT t.budget, t.scope_key, t."window" FROM jsonb_to_recordset(v_settled) AS t(budget text, scope_key text, "window" text))
      ORDER BY k.budget, k.scope_key, k."window"
      FOR UPDATE;
    UPDATE budget_counters k SET
      reserved = k.reserved - t.amount,
      spent = k.spent + t.spent,
      updated_at = now()
    FROM (
      SELECT t.budget, t.scope_key, t."window", sum(t.amount) AS amount,
             sum(CASE WHEN t.state = 'spent' THEN t.amount ELSE 0 END) AS spent
      FROM jsonb_to_recordset(v_settled) AS t(budget text, scope_key text, "window" text, amount numeric, state text)
      GROUP BY 1, 2, 3
    ) t
    WHERE k.budget = t.budget AND k.scope_key = t.scope_key AND k."window" = t."window";
  END IF;

  -- 2. Claims.
  FOR c IN
    SELECT * FROM jsonb_to_recordset(coalesce(p->'claims', '[]')) AS w(id text, row_version text, lease_ms int) ORDER BY w.id
  LOOP
    UPDATE actions a SET
      status = 'executing',
      attempts = a.attempts + 1,
      lease_expires_at = now() + c.lease_ms * interval '1 millisecond',
      updated_at = now()
    WHERE a.id = c.id AND a.xmin::text = c.row_version AND (a.status IN ('approved', 'queued')) IS TRUE
      AND EXISTS (SELECT 1 FROM agents g WHERE g.id = a.agent_id AND g.status = 'active')
    RETURNING a.attempts, a.lease_expires_at, a.updated_at INTO v_att, v_lease, v_upd;
    CONTINUE WHEN NOT FOUND;
    v_kinds := v_kinds || 'claimed'::text;
    v_ids := v_ids || c.id;
    v_attempts := v_attempts || v_att;
    v_leases := v_leases || v_lease;
    v_updated := v_updated || v_upd;
    v_gates := v_gates || ('claim:' || c.id);
  END LOOP;

  -- 3. Evidence of what happened.
  PERFORM audit_link_events((p->>'lane')::integer, coalesce((
    SELECT jsonb_agg(e ORDER BY n) FROM jsonb_array_elements(coalesce(p->'events', '[]')) WITH ORDINALITY AS t(e, n)
    WHERE e->>'gate' = ANY(v_gates)), '[]'));

  RETURN QUERY
    SELECT u.kind, u.id, u.attempts, (extract(epoch FROM u.lease) * 1000)::float8, (extract(epoch FROM u.upd) * 1000)::float8
    FROM unnest(v_kinds, v_ids, v_attempts, v_leases, v_updated) AS u(kind, id, attempts, lease, upd);
END;
$$;
--> statement-breakpoint
-- intake_commit (drizzle/0010) again, its evidence now linked by audit_link_events: one definition of the
-- linking for both writers. Nothing else changes.
CREATE OR REPLACE FUNCTION intake_commit(p jsonb)
RETURNS TABLE (action_id text, outcome text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_lane integer := (p->>'lane')::integer;
  v_ok text[];
  v_inserted text[];
BEGIN
  -- 1. Credentials, checked and locked in one query. FOR KEY SHARE is the lock the actions -> agents foreign
  -- key takes anyway, and it conflicts with the kill switch's FOR UPDATE: a kill either commits before this
  -- check (which then sees the agent suspended and its tokens revoked) or waits for this batch to commit (and
  -- then cancels what it wrote).
  -- Each distinct credential is checked (and its agent locked) once, however many requests carry it.
  WITH creds AS (
    SELECT c.action_id, c.agent_id, c.token_id, c.scopes, c.rate_limit_per_minute
    FROM jsonb_to_recordset(p->'credentials')
      AS c(action_id text, agent_id text, token_id text, scopes text[], rate_limit_per_minute integer)),
  live AS (
    SELECT d.agent_id, d.token_id, d.scopes, d.rate_limit_per_minute
    FROM (SELECT DISTINCT agent_id, token_id, scopes, rate_limit_per_minute FROM creds) d
    JOIN agents a ON a.id = d.agent_id
    JOIN agent_tokens t ON t.id = d.token_id AND t.agent_id = a.id
    WHERE a.status = 'active' AND a.scopes = d.scopes
      AND a.rate_limit_per_minute IS NOT DISTINCT FROM d.rate_limit_per_minute
      AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
    ORDER BY a.id
    FOR KEY SHARE OF a)
  SELECT coalesce(array_agg(c.action_id), '{}') INTO v_ok
  FROM creds c JOIN live l ON l.agent_id = c.agent_id AND l.token_id = c.token_id AND l.scopes = c.scopes
    AND l.rate_limit_per_minute IS NOT DISTINCT FROM c.rate_limit_per_minute;

  -- 2. The action rows. A column added later takes its default until this list names it.
  WITH ins AS (
    INSERT INTO actions (id, agent_id, action_class, params, context, executor, dry_run, preview, idempotency_key,
                         request_hash, correlation_id, justification, on_behalf_of, payload_hash, status, decision,
                         rule_id, reasoning, policy_version, escalation, approver_group, approvals_required,
                         expires_at, approved_at, approved_payload_hash, created_at, updated_at, response_status,
                         response_body, task_id, facts, prepared, plan_hash)
    SELECT id, agent_id, action_class, params, context, executor, dry_run, preview, idempotency_key,
           request_hash, correlation_id, justification, on_behalf_of, payload_hash, status, decision,
           rule_id, reasoning, policy_version, escalation, approver_group, approvals_required,
           expires_at, approved_at, approved_payload_hash, created_at, updated_at, response_status,
           response_body, task_id, facts, prepared, plan_hash
    FROM jsonb_populate_recordset(null::actions, p->'actions') r
    WHERE r.id = ANY(v_ok)
    ON CONFLICT DO NOTHING
    RETURNING id)
  SELECT coalesce(array_agg(ins.id), '{}') INTO v_inserted FROM ins;

  -- 3. Evidence of the inserted actions, chained in the lane (audit_link_events, above).
  PERFORM audit_link_events(v_lane, coalesce((
    SELECT jsonb_agg(x ORDER BY n) FROM jsonb_array_elements(p->'events') WITH ORDINALITY AS t(x, n)
    WHERE x->>'action_id' = ANY(v_inserted)), '[]'));

  RETURN QUERY
    SELECT r.id, CASE WHEN r.id = ANY(v_inserted) THEN 'inserted'
                      WHEN r.id = ANY(v_ok) THEN 'duplicate'
                      ELSE 'stale-credentials' END
    FROM jsonb_to_recordset(p->'actions') AS r(id text);
END;
$$;
