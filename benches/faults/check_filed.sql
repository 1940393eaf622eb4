-- Checks the appeals the load client saw acknowledged (table fault_acks, phase :phase) against
-- what filing writes in its one transaction (services/appeals/filing.rs): the appeal, its
-- "file" event, its idempotency record, its deadline and forwarding-window jobs (scheduler::plan),
-- its "appeal received" email (and a guest's access code email) in the outbox, and its first
-- stay at the agency (appeal_stints). Prints one line: name=value pairs, space-separated.
\pset format unaligned
\pset tuples_only on
\pset fieldsep ' '
-- Every set operation below is a join (hash, semi or anti), never a subquery run per row: a
-- NOT IN over more keys than work_mem holds is run unhashed, once per appeal, and the check
-- of 150,000 acknowledgements then ran for hours. The statistics may also be stale (a crash of
-- PostgreSQL resets the counts that trigger autoanalyze), hence the ANALYZE.
SET work_mem = '64MB';
ANALYZE fault_acks, appeals, appeal_events, idempotency_keys, jobs, outbox, appeal_stints;
WITH acked AS (
    SELECT * FROM fault_acks WHERE phase = :phase
), marked AS (
    -- The client's key, written into each appeal's text.
    SELECT id, substring(body from '(?:Рақами дохилӣ|Внутренний номер): ([0-9a-f-]{36})') AS key
    FROM appeals
), keyed AS (
    -- The acknowledged keys with their record (a join on the key alone: the table's index is
    -- on (scope, key), and a lookup per acknowledgement would read the table each time).
    SELECT DISTINCT a.key FROM acked a JOIN idempotency_keys i ON i.key = a.key
    WHERE CASE WHEN a.guest THEN i.scope LIKE 'guest:%' ELSE i.scope = 'user:' || a.user_id END
      AND i.response_body LIKE '%' || a.appeal_id || '%'
), per_ack AS (
    SELECT a.*,
        EXISTS (SELECT 1 FROM appeals ap WHERE ap.id = a.appeal_id
                AND replace(ap.tracking_number, '-', '') = replace(a.tracking_number, '-', '')) AS has_appeal,
        EXISTS (SELECT 1 FROM appeal_events e WHERE e.appeal_id = a.appeal_id AND e.action = 'file' AND e.seq = 1) AS has_event,
        k.key IS NOT NULL AS has_key,
        EXISTS (SELECT 1 FROM jobs j WHERE j.appeal_id = a.appeal_id AND j.kind = 'deadline') AS has_deadline_job,
        EXISTS (SELECT 1 FROM jobs j WHERE j.appeal_id = a.appeal_id AND j.kind = 'forwarding_window') AS has_forwarding_job,
        EXISTS (SELECT 1 FROM outbox o WHERE o.appeal_id = a.appeal_id AND o.template = 'appeal_received') AS has_mail,
        (NOT a.guest OR EXISTS (SELECT 1 FROM outbox o WHERE o.appeal_id = a.appeal_id
                                AND o.template = 'guest_access_code')) AS has_code_mail,
        EXISTS (SELECT 1 FROM appeal_stints s WHERE s.appeal_id = a.appeal_id) AS has_stint
    FROM acked a LEFT JOIN keyed k ON k.key = a.key
), dup_keys AS (
    -- More than one appeal carrying one acknowledged key.
    SELECT m.key, count(*) AS n FROM marked m WHERE m.key IN (SELECT key FROM acked)
    GROUP BY m.key HAVING count(*) > 1
), dup_rows AS (
    -- More than one "file" event, or "appeal received" email, for one acknowledged appeal.
    SELECT (SELECT count(*) FROM appeal_events e WHERE e.appeal_id = a.appeal_id AND e.action = 'file') - 1
         + greatest((SELECT count(*) FROM outbox o WHERE o.appeal_id = a.appeal_id
                     AND o.template = 'appeal_received') - 1, 0) AS extra
    FROM acked a
)
SELECT
    'acknowledged=' || (SELECT count(*) FROM acked),
    'distinct_keys=' || (SELECT count(DISTINCT key) FROM acked),
    'no_appeal=' || (SELECT count(*) FROM per_ack WHERE NOT has_appeal),
    'no_file_event=' || (SELECT count(*) FROM per_ack WHERE NOT has_event),
    'no_idempotency_record=' || (SELECT count(*) FROM per_ack WHERE NOT has_key),
    'no_deadline_job=' || (SELECT count(*) FROM per_ack WHERE NOT has_deadline_job),
    'no_forwarding_job=' || (SELECT count(*) FROM per_ack WHERE NOT has_forwarding_job),
    'no_outbox_mail=' || (SELECT count(*) FROM per_ack WHERE NOT (has_mail AND has_code_mail)),
    'no_stint=' || (SELECT count(*) FROM per_ack WHERE NOT has_stint),
    'lost=' || (SELECT count(*) FROM per_ack WHERE NOT (has_appeal AND has_event AND has_key AND has_deadline_job
                AND has_forwarding_job AND has_mail AND has_code_mail AND has_stint)),
    'duplicate_appeals=' || (SELECT coalesce(sum(n - 1), 0) FROM dup_keys),
    'duplicate_rows=' || (SELECT coalesce(sum(greatest(extra, 0)), 0) FROM dup_rows),
    'keys_acked_twice=' || (SELECT count(*) - count(DISTINCT key) FROM acked),
    'unacknowledged_appeals=' || (SELECT count(*) FROM marked m WHERE m.key IS NOT NULL
                                  AND NOT EXISTS (SELECT 1 FROM fault_acks f WHERE f.key = m.key));
