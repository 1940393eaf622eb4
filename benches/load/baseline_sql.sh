#!/usr/bin/env bash
# Prints a pgbench script that does, per transaction, the writes of one filing: the rows that
# one real filing wrote (SAMPLE, filed with Idempotency-Key KEY) copied under new keys, with
# the same columns and sizes: the idempotency record, the agency's registration counter
# (one upsert returning the new value, for an agency drawn as MIX says), the appeal
# (its full-text column is computed by PostgreSQL as for a real one), its jobs, its first
# event, its agency stay, its outbox rows and the report tallies it adds to. Columns are read
# from the database's catalog, so the script follows the schema. benches/load/run.sh uses it
# for the database baseline.
#
# Usage: [MIX=uniform|filings] baseline_sql.sh DB_URL SAMPLE_APPEAL_ID IDEMPOTENCY_KEY > filing.sql
# Creates (or replaces) the helper table load_baseline_agencies in the database: with
# MIX=uniform (the default) every agency with a counter this year once, so each transaction's
# agency is drawn uniformly; with MIX=filings the agencies of the 20,000 latest appeals (the
# load run's filings), so agencies are drawn as routing spread those filings.
set -euo pipefail
DB_URL=$1 SAMPLE=$2 KEY=$3
q() { psql "$DB_URL" -v ON_ERROR_STOP=1 -tAq "$@"; }

YEAR=$(q -c "SELECT year FROM registration_counters rc JOIN appeals a ON a.agency_id = rc.agency_id WHERE a.id = '$SAMPLE' ORDER BY year DESC LIMIT 1")
case ${MIX:-uniform} in
    uniform) DRAW="SELECT agency_id FROM registration_counters WHERE year = $YEAR" ;;
    filings) DRAW="SELECT agency_id FROM appeals WHERE id <> '$SAMPLE' ORDER BY created_at DESC LIMIT 20000" ;;
    *) echo "MIX must be uniform or filings" >&2; exit 1 ;;
esac
q -c "DROP TABLE IF EXISTS load_baseline_agencies" \
  -c "CREATE TABLE load_baseline_agencies AS SELECT (row_number() OVER (ORDER BY agency_id))::int AS n, agency_id FROM ($DRAW) AS d" \
  -c "ALTER TABLE load_baseline_agencies ADD PRIMARY KEY (n)"
AGENCIES=$(q -c "SELECT count(*) FROM load_baseline_agencies")
# Filing writes one event; outbox rows name it in their dedupe keys.
EVENT=$(q -c "SELECT id FROM appeal_events WHERE appeal_id = '$SAMPLE'")
[[ $(echo "$EVENT" | wc -l) == 1 ]] || { echo "the sample appeal must have exactly one event" >&2; exit 1; }

# copy TABLE WHERE: INSERT ... SELECT of every row matching WHERE, each column either kept,
# given a new key, or with the sample's id replaced by the new one inside its text.
copy() {
    q -v table="$1" -v sample="$SAMPLE" -v event="$EVENT" <<'SQL'
SELECT format('INSERT INTO %I (%s) SELECT %s FROM %I WHERE %s;',
              :'table',
              string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position),
              string_agg(CASE
                  WHEN :'table' = 'appeals' AND column_name = 'id' THEN 'CAST(:aid AS uuid)'
                  WHEN :'table' = 'appeal_events' AND column_name = 'id' THEN 'CAST(:eid AS uuid)'
                  WHEN column_name = 'appeal_id' THEN 'CAST(:aid AS uuid)'
                  WHEN column_name = 'id' AND data_type = 'uuid' THEN 'gen_random_uuid()'
                  WHEN :'table' = 'appeals' AND column_name IN ('tracking_number', 'registration_number')
                      THEN 'CAST(:tn AS text)'
                  WHEN :'table' = 'idempotency_keys' AND column_name = 'key' THEN 'CAST(:aid AS text)'
                  WHEN data_type IN ('text', 'character varying')
                      THEN format('replace(replace(%I, %L, :aid), %L, :eid)', column_name, :'sample', :'event')
                  ELSE quote_ident(column_name) END, ', ' ORDER BY ordinal_position),
              :'table',
              '%WHERE%')
FROM information_schema.columns
WHERE table_schema = 'public' AND table_name = :'table'
  AND is_generated = 'NEVER' AND is_identity = 'NO'
SQL
}
where() { sed "s|%WHERE%|$1|"; }

echo "\\set k random(1, $AGENCIES)"
echo "BEGIN;"
echo "SELECT CAST(gen_random_uuid() AS text) AS aid, CAST(gen_random_uuid() AS text) AS eid, upper(substr(md5(random()::text), 1, 14)) AS tn \\gset"
# By the whole primary key (scope, key), as filing looks a key up.
SCOPE=$(q -c "SELECT scope FROM idempotency_keys WHERE key = '$KEY'")
copy idempotency_keys | where "scope = '$SCOPE' AND key = '$KEY'"
# One statement, as filing takes its number: the upsert returns the counter's new value.
echo "INSERT INTO registration_counters (agency_id, year, last) SELECT agency_id, $YEAR, 1 FROM load_baseline_agencies WHERE n = :k ON CONFLICT (agency_id, year) DO UPDATE SET last = registration_counters.last + 1 RETURNING last;"
copy appeals | where "id = '$SAMPLE'"
for table in jobs appeal_events appeal_stints outbox; do
    copy "$table" | where "appeal_id = '$SAMPLE'"
done
# The report tallies a filing adds to: one row per grouping for its agency, group and month,
# in key order, as the server writes them.
q -v sample="$SAMPLE" <<'SQL'
SELECT format(
    'INSERT INTO report_tallies (grouping, month, agency_id, group_key, answer_days, received, '
    'extensions, answered, answered_on_time, forwarded_out, dismissed, missed) '
    'SELECT g.grouping, %s, a.agency_id, '
    'CASE g.grouping WHEN %L THEN CAST(a.agency_id AS text) ELSE g.key END, -1, 1, 0, 0, 0, 0, 0, 0 '
    'FROM load_baseline_agencies a, (VALUES (%L, %L), (%L, %L), (%L, %L), (%L, %L), (%L, %L)) '
    'AS g(grouping, key) WHERE a.n = :k ORDER BY 1, 4 '
    'ON CONFLICT (grouping, month, agency_id, group_key, answer_days) '
    'DO UPDATE SET received = report_tallies.received + excluded.received;',
    date_trunc('month', DATE '1970-01-01' + received_day)::date - DATE '1970-01-01', 'agency',
    'agency', '', 'category', category_code, 'kind', kind, 'official', '', 'territory', territory_code)
FROM appeal_stints WHERE appeal_id = CAST(:'sample' AS uuid)
SQL
echo "COMMIT;"
