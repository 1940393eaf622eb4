#!/usr/bin/env bash
# Report benchmark (issue 7, done-when #4): with N seeded appeals on PostgreSQL, how fast are
# the deadline report over the whole jurisdiction for a year (per agency and per category),
# the first page of the overdue list and the monthly trend?
#
# "One year" is the 365 days up to today: whole months come from the maintained tallies, the
# days of the first and the last month from the stays. "This year so far" (the default
# period, 1 January to today) is whole months and today.
#
# 1. creates a fresh PostgreSQL database and seeds N appeals with `murojiat demo seed`
#    (which writes their report rows too), then VACUUM ANALYZE;
# 2. times `murojiat reports rebuild` over them (the figures recomputed from the timelines);
# 3. starts the release server, signs in as the demo administrator (every agency);
# 4. measures each report with oha (installed with `cargo install oha --locked` when missing),
#    C clients for S seconds, next to GET /healthz as the HTTP baseline of the same run;
# 5. prints a Markdown section to paste into docs/benchmarks.md.
#
# Usage: benches/reports.sh [APPEALS] [CLIENTS] [SECONDS]   (from the repository root)
# Env: PG_URL (server URL without database, default postgres://postgres@127.0.0.1:5432),
#      DB (database name, default murojiat_reports_bench; dropped and re-created),
#      REUSE=1 keeps an already seeded database DB,
#      BIN=path runs that binary instead of building the release one.
set -euo pipefail
cd "$(dirname "$0")/.."
APPEALS=${1:-1000000}
CLIENTS=${2:-1}
SECONDS_EACH=${3:-20}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-murojiat_reports_bench}
DB_URL="$PG_URL/$DB"

command -v oha >/dev/null || cargo install oha --locked
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }

if [[ -z ${BIN:-} ]]; then
    echo "== building the release binary"
    cargo build --release --bin murojiat
    BIN=${CARGO_TARGET_DIR:-target}/release/murojiat
fi

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
export MUROJIAT_DATABASE__URL=$DB_URL MUROJIAT_LOGGING__FILTER=warn
export MUROJIAT_AUTH__SIGNING_KEY_FILE=$WORK/keys/jwt-ed25519.pem
# production.toml wants the address people use and an SMTP server: here the mail goes to
# files and the links to this machine (a serve line below may name its own address).
export MUROJIAT_MAIL__TRANSPORT=file MUROJIAT_SERVER__PUBLIC_URL=http://127.0.0.1

SEED="(reused database $DB)"
if [[ ${REUSE:-0} != 1 ]]; then
    echo "== fresh database $DB, seeding $APPEALS appeals"
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
    SEED=$("$BIN" --env production demo seed --appeals "$APPEALS" | tail -1)
    echo "$SEED"
fi
psql "$DB_URL" -qc "VACUUM ANALYZE"
echo "== reports rebuild"
REBUILD=$("$BIN" --env production reports rebuild)
echo "$REBUILD"
# The rebuild deletes and rewrites every row in one transaction; compact the tables, as a
# load into empty tables would leave them, so the figures do not measure that bloat.
# VACUUM FULL leaves the visibility map empty, which would send every index-only scan to the
# table; the plain VACUUM after it sets the map, as autovacuum keeps it on a live database.
psql "$DB_URL" -qc "VACUUM FULL ANALYZE appeal_stints" -c "VACUUM FULL ANALYZE report_tallies" \
    -c "VACUUM ANALYZE appeal_stints" -c "VACUUM ANALYZE report_tallies"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
B=http://127.0.0.1:$PORT
MUROJIAT_SERVER__PORT=$PORT MUROJIAT_SERVER__PUBLIC_URL=$B MUROJIAT_SCHEDULER__ENABLED=false \
    "$BIN" --env production serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -fsS "$B/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

TOKEN=$(curl -fsS "$B/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"admin@demo.murojiat.tj","password":"demo-admin-2026"}' | jq -r .access_token)
TO=$(date -u +%F)
FROM=$(date -u -d '364 days ago' +%F)
YEAR="from=$FROM&to=$TO"
STINTS=$(psql "$DB_URL" -tAc "SELECT count(*) FROM appeal_stints")
IN_YEAR=$(curl -fsS "$B/api/v1/reports/deadlines?$YEAR" -H "authorization: Bearer $TOKEN" | jq .total.received)
AGENCIES=$(curl -fsS "$B/api/v1/reports/deadlines?$YEAR" -H "authorization: Bearer $TOKEN" | jq '.rows | length')

OHA_JSON() { oha --no-tui --output-format json -z "${SECONDS_EACH}s" -c "$CLIENTS" -H "authorization: Bearer $TOKEN" "$@"; }
row() { # name json-file
    jq -r --arg n "$1" '"| \($n) | \(.summary.requestsPerSec*10|floor/10) | \((.latencyPercentiles.p50*1000*100|floor)/100) | \((.latencyPercentiles.p99*1000*100|floor)/100) | \(.statusCodeDistribution|tostring) |"' "$2"
}
declare -a NAMES=(
    "GET /healthz (HTTP baseline)"
    "deadlines, whole jurisdiction, this year so far (the default period), per agency"
    "deadlines, whole jurisdiction, one year, per agency"
    "deadlines, whole jurisdiction, one year, per category"
    "deadlines, whole jurisdiction, one year, per official"
    "deadlines, one year, one agency (hukumat-dushanbe)"
    "overdue, whole jurisdiction, first page"
    "trend, whole jurisdiction, one year per month"
    "deadlines as CSV, per agency"
)
declare -a URLS=(
    "$B/healthz"
    "$B/api/v1/reports/deadlines"
    "$B/api/v1/reports/deadlines?$YEAR"
    "$B/api/v1/reports/deadlines?$YEAR&group_by=category"
    "$B/api/v1/reports/deadlines?$YEAR&group_by=official"
    "$B/api/v1/reports/deadlines?$YEAR&agency=hukumat-dushanbe"
    "$B/api/v1/reports/overdue"
    "$B/api/v1/reports/trend?$YEAR&interval=month"
    "$B/api/v1/reports/deadlines?$YEAR&format=csv"
)
for i in "${!URLS[@]}"; do
    echo "== oha: ${NAMES[$i]}"
    OHA_JSON "${URLS[$i]}" >"$WORK/$i.json"
done
RSS=$(ps -o rss= -p "$SERVER_PID" | awk '{printf "%.0f", $1/1024}')

{
    echo "## Reports with $APPEALS appeals (PostgreSQL)"
    echo
    echo "- Date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -h | awk '/Mem:/{print $2}') memory; load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- Server: $BIN, \`--env production\`, PostgreSQL $(psql "$DB_URL" -tAc 'SHOW server_version') on loopback, default settings; server RSS after the run: ${RSS} MiB"
    echo "- Command: \`benches/reports.sh $APPEALS $CLIENTS $SECONDS_EACH\` (oha, $CLIENTS client(s), ${SECONDS_EACH} s each)"
    echo "- Seed: $SEED"
    echo "- Rebuild: \`murojiat reports rebuild\` → $REBUILD"
    echo "- Data: $STINTS agency stays; $IN_YEAR received in the year $FROM to $TO over $AGENCIES agencies"
    echo
    echo "| request | req/s | p50 ms | p99 ms | statuses |"
    echo "|---|---:|---:|---:|---|"
    for i in "${!URLS[@]}"; do row "${NAMES[$i]}" "$WORK/$i.json"; done
} | tee "$WORK/result.md"
echo
echo "Paste the section above into docs/benchmarks.md."
