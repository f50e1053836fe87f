-- 0010: intake_commit (drizzle/0008) again, now also writing the columns of 0009 (task_id, facts, prepared,
-- plan_hash): a column the list does not name would take its default on the allow path.
-- intake_commit: the allow path's whole write for a batch of requests, in one statement (src/intake/batch-writer.ts).
--
-- Why a function: the intake used to spend most of its time on round trips and statement overhead (about ten
-- statements over two transactions per request). Here one call, in its own implicit transaction, does for any
-- number of requests what the intake transaction and the outbox relay did for one:
--   1. keeps only requests whose token is still live and whose agent is still active with the scopes and rate limit
--      the request was checked against, key-share-locking those agents (a kill switch waits for us, we wait for it);
--   2. inserts their action rows (already `queued`): a taken idempotency key inserts nothing (ON CONFLICT);
--   3. links the evidence of the inserted actions into one chain lane, exactly as src/audit/append.ts does:
--      same lock (727275, lane), seq numbers from the same sequence, created_at from the database clock and never
--      before the lane's head, hash = sha256(prev_hash || canonical JSON of the event). The canonical JSON is built
--      by the application (RFC 8785) with two holes, the created_at and seq values, which only the database knows:
--      `head` ends with `"created_at":"`, `mid` runs from the closing quote to `"seq":`, `tail` is the rest.
-- It answers, per action: inserted | duplicate (idempotency key taken) | stale-credentials.
CREATE OR REPLACE FUNCTION intake_commit(p jsonb)
RETURNS TABLE (action_id text, outcome text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_lane integer := (p->>'lane')::integer;
  v_ok text[];
  v_inserted text[];
  v_n integer;
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

  -- 3. Evidence of the inserted actions, chained in the lane.
  SELECT count(*) INTO v_n FROM jsonb_array_elements(p->'events') x WHERE x->>'action_id' = ANY(v_inserted);
  IF v_n > 0 THEN
    PERFORM pg_advisory_xact_lock(727275, v_lane);
    v_seqs := array(SELECT nextval('audit_events_seq_seq') FROM generate_series(1, v_n));
    SELECT h.hash, extract(epoch FROM h.created_at) * 1000 INTO v_prev, v_head_ms
      FROM audit_events h WHERE h.chain_lane = v_lane ORDER BY h.seq DESC LIMIT 1;
    v_ms := greatest(floor(extract(epoch FROM clock_timestamp()) * 1000), round(coalesce(v_head_ms, 0)));
    v_at := timestamptz 'epoch' + v_ms * interval '1 millisecond';
    v_iso := to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
    v_prev := coalesce(v_prev, repeat('0', 64));
    -- Hashes are computed in order (each links to the previous); the rows are then inserted in one statement.
    FOR e IN SELECT x FROM jsonb_array_elements(p->'events') WITH ORDINALITY AS t(x, n)
             WHERE x->>'action_id' = ANY(v_inserted) ORDER BY n LOOP
      v_i := v_i + 1;
      v_prevs[v_i] := v_prev;
      v_prev := encode(sha256(convert_to(
        v_prev || (e->>'head') || v_iso || (e->>'mid') || v_seqs[v_i]::text || (e->>'tail'), 'UTF8')), 'hex');
      v_hashes[v_i] := v_prev;
    END LOOP;
    INSERT INTO audit_events (seq, chain_lane, id, schema_version, type, action_id, correlation_id, agent_id, actor,
                              policy_version, data, created_at, prev_hash, hash)
    SELECT v_seqs[k], v_lane, x->>'id', x->>'schema_version', x->>'type', x->>'action_id', x->>'correlation_id',
           x->>'agent_id', x->>'actor', x->>'policy_version', x->'data', v_at, v_prevs[k], v_hashes[k]
    FROM (SELECT x, row_number() OVER (ORDER BY n) AS k
          FROM jsonb_array_elements(p->'events') WITH ORDINALITY AS t(x, n)
          WHERE x->>'action_id' = ANY(v_inserted)) ev;
  END IF;

  RETURN QUERY
    SELECT r.id, CASE WHEN r.id = ANY(v_inserted) THEN 'inserted'
                      WHEN r.id = ANY(v_ok) THEN 'duplicate'
                      ELSE 'stale-credentials' END
    FROM jsonb_to_recordset(p->'actions') AS r(id text);
END;
$$;
