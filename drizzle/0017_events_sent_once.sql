-- 0017: an event prepared by the application (src/audit/chain-template.ts) travels once. The canonical JSON
-- that its hash covers already holds every stored field (id, schema_version, type, action_id, correlation_id,
-- agent_id, actor, policy_version, data), so the application now sends only that text, cut around created_at
-- and seq (`head`, `mid`, `tail`), plus `action_id` (intake_commit picks the events of the inserted actions by
-- it) and `gate` (release_write's); the stored fields are read back from the text once it is complete — the
-- very text that is hashed, so what is stored is what the hash covers by construction. Before, each event's
-- data was sent twice, as JSON and inside the text (escaped): about half of the intake_commit payload.
--
-- An event that still carries its fields (an instance of the previous version during a rolling upgrade) is
-- stored from them, as before. Nothing else changes: lock, seq numbers, clock and hashes are 0016's.
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
  v_rows jsonb[] := '{}';
  v_text text;
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
    v_text := (e->>'head') || v_iso || (e->>'mid') || v_seqs[v_i]::text || (e->>'tail');
    v_prevs[v_i] := v_prev;
    v_prev := encode(sha256(convert_to(v_prev || v_text, 'UTF8')), 'hex');
    v_hashes[v_i] := v_prev;
    v_rows[v_i] := CASE WHEN e ? 'data' THEN e ELSE v_text::jsonb END;
  END LOOP;
  INSERT INTO audit_events (seq, chain_lane, id, schema_version, type, action_id, correlation_id, agent_id, actor,
                            policy_version, data, created_at, prev_hash, hash)
  SELECT v_seqs[n], v_lane, x->>'id', x->>'schema_version', x->>'type', x->>'action_id', x->>'correlation_id',
         x->>'agent_id', x->>'actor', x->>'policy_version', x->'data', v_at, v_prevs[n], v_hashes[n]
  FROM unnest(v_rows) WITH ORDINALITY AS t(x, n);
END;
$$;
