#!/usr/bin/env bash
# Queue benchmark (issue 3, done-when #7): with 1,000,000 seeded appeals on PostgreSQL, how
# fast is an official's first queue page and a deep keyset page under 16 concurrent clients?
#
# 1. creates a fresh PostgreSQL database and seeds N appeals with `murojiat demo seed`
#    (reports the seed time; the demo official's agency, hukumat-dushanbe, gets ~20% of them);
# 2. checks the timeline with `murojiat audit verify` (reports its time too);
# 3. starts the release server, signs in as official@demo.murojiat.tj and follows the queue
#    DEEP pages of 100 to get a deep cursor;
# 4. measures with oha (installed with `cargo install oha` when missing), C clients, D seconds
#    each: GET /healthz (the HTTP baseline), the first queue page, the deep keyset page; and
#    with pgbench the same two queue queries as raw SQL (the database baseline), so results
#    read as ratios measured back to back on the same machine;
# 5. prints a Markdown section to paste into docs/benchmarks.md.
#
# Usage: benches/queue.sh [APPEALS] [CLIENTS] [SECONDS] [DEEP]   (from the repository root)
# Env: PG_URL (server URL without database, default postgres://postgres@127.0.0.1:5432),
#      DB (database name, default murojiat_queue_bench; dropped and re-created),
#      REUSE=1 keeps an already seeded database DB (skips creating and seeding it),
#      BIN=path runs that binary instead of building the release one (for trying the script),
#      SSLMODE (default disable: PostgreSQL is on this machine) for the server and pgbench alike.
set -euo pipefail
cd "$(dirname "$0")/.."
APPEALS=${1:-1000000}
CLIENTS=${2:-16}
SECONDS_EACH=${3:-20}
DEEP=${4:-20}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-murojiat_queue_bench}
DB_URL="$PG_URL/$DB"
# The server and the baseline reach PostgreSQL the same way.
export PGSSLMODE=${SSLMODE:-disable}

command -v oha >/dev/null || cargo install oha --locked
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }
command -v pgbench >/dev/null || { echo "pgbench is required (postgresql-client)" >&2; exit 1; }

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
export MUROJIAT_DATABASE__URL="$DB_URL?sslmode=$PGSSLMODE" MUROJIAT_LOGGING__FILTER=warn
export MUROJIAT_AUTH__SIGNING_KEY_FILE=$WORK/keys/jwt-ed25519.pem
# production.toml wants the address people use and an SMTP server: here the mail goes to
# files and the links to this machine (a serve line below may name its own address).
export MUROJIAT_MAIL__TRANSPORT=file MUROJIAT_SERVER__PUBLIC_URL=http://127.0.0.1

if [[ ${REUSE:-0} == 1 ]]; then
    echo "(reused database $DB)" >"$WORK/seed.txt"; SEED_SECS=0
else
    echo "== fresh database $DB"
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
    echo "== seeding $APPEALS appeals"
    start=$(date +%s.%N)
    "$BIN" --env production demo seed --appeals "$APPEALS" | tee "$WORK/seed.txt"
    SEED_SECS=$(echo "$(date +%s.%N) - $start" | bc)
fi
start=$(date +%s.%N)
AUDIT=$("$BIN" --env production audit verify)
AUDIT_SECS=$(echo "$(date +%s.%N) - $start" | bc)
echo "$AUDIT ($AUDIT_SECS s)"
psql "$DB_URL" -qc "VACUUM ANALYZE"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
B=http://127.0.0.1:$PORT
MUROJIAT_SERVER__PORT=$PORT MUROJIAT_SERVER__PUBLIC_URL=$B "$BIN" --env production serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -fsS "$B/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

TOKEN=$(curl -fsS "$B/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"official@demo.murojiat.tj","password":"demo-official-2026"}' | jq -r .access_token)
AGENCY=$(psql "$DB_URL" -tAc "SELECT id FROM agencies WHERE code = 'hukumat-dushanbe'")
OPEN=$(psql "$DB_URL" -tAc "SELECT count(*) FROM appeals WHERE agency_id = '$AGENCY' AND status IN ('registered','in_progress','awaiting_citizen','contested')")
TOTAL=$(psql "$DB_URL" -tAc "SELECT count(*) FROM appeals WHERE agency_id = '$AGENCY'")

# Follow the queue DEEP pages of 100: the deep page starts after item DEEP*100.
CURSOR=
for _ in $(seq "$DEEP"); do
    PAGE=$(curl -fsS "$B/api/v1/queue?limit=100${CURSOR:+&cursor=$CURSOR}" -H "authorization: Bearer $TOKEN")
    CURSOR=$(echo "$PAGE" | jq -r .next_cursor)
    LAST_DUE=$(echo "$PAGE" | jq -r '.items[-1].due_at')
    LAST_ID=$(echo "$PAGE" | jq -r '.items[-1].id')
done

OHA_JSON() { oha --no-tui --output-format json -z "${SECONDS_EACH}s" -c "$CLIENTS" "$@"; }
row() { # name json-file
    jq -r --arg n "$1" '"| \($n) | \(.summary.requestsPerSec|floor) | \((.latencyPercentiles.p50*1000*100|floor)/100) | \((.latencyPercentiles.p99*1000*100|floor)/100) | \(.statusCodeDistribution|tostring) |"' "$2"
}
echo "== oha: /healthz"
OHA_JSON "$B/healthz" >"$WORK/healthz.json"
echo "== oha: first queue page"
OHA_JSON -H "authorization: Bearer $TOKEN" "$B/api/v1/queue" >"$WORK/first.json"
echo "== oha: deep queue page"
OHA_JSON -H "authorization: Bearer $TOKEN" "$B/api/v1/queue?cursor=$CURSOR" >"$WORK/deep.json"

STATUSES="('registered','in_progress','awaiting_citizen','contested')"
# The columns of a queue item (store::appeals::QueueRow).
COLUMNS="id, tracking_number, kind, status, subject, category_code, region_code, district_code, co_signers_count, language, citizen_id, agency_id, assignee_id, registration_number, priority, deadline_policy, registered_at, due_at, paused_at, extensions_granted, version, created_at, updated_at"
echo "SELECT $COLUMNS FROM appeals WHERE agency_id IN ('$AGENCY') AND status IN $STATUSES ORDER BY due_at, id LIMIT 21;" >"$WORK/first.sql"
# The keyset condition as the server writes it: a row-value comparison (an index range).
echo "SELECT $COLUMNS FROM appeals WHERE agency_id IN ('$AGENCY') AND status IN $STATUSES AND (due_at, id) > ('$LAST_DUE', '$LAST_ID') ORDER BY due_at, id LIMIT 21;" >"$WORK/deep.sql"
pg_row() { # name sql-file
    local out; out=$(pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_EACH" -f "$2" --log --log-prefix="$WORK/pg" "$DB_URL" 2>/dev/null)
    local tps; tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    # Per-transaction latencies (microseconds, 3rd column) from pgbench's logs.
    local p; p=$(cat "$WORK"/pg.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {printf "%.2f | %.2f", a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000}')
    rm -f "$WORK"/pg.*
    echo "| $1 | ${tps%.*} | $p | pgbench |"
}

{
    echo "## Queue with $APPEALS appeals (PostgreSQL)"
    echo
    echo "- Date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -h | awk '/Mem:/{print $2}') memory, shared with other work"
    echo "- Server: $BIN, \`--env production\`, PostgreSQL $(psql "$DB_URL" -tAc 'SHOW server_version') on loopback, sslmode=$PGSSLMODE for the server and pgbench"
    echo "- Command: \`benches/queue.sh $APPEALS $CLIENTS $SECONDS_EACH $DEEP\` (oha and pgbench, $CLIENTS clients, ${SECONDS_EACH} s each)"
    echo "- Seed: $(tail -1 "$WORK/seed.txt") Wall time with start-up: ${SEED_SECS%.*} s."
    echo "- Audit: \`murojiat audit verify\` → $AUDIT in ${AUDIT_SECS%.*} s"
    echo "- Busy agency: hukumat-dushanbe, $TOTAL appeals, $OPEN open (the queue's default filter); deep page after item $((DEEP * 100)) (20 per page)"
    echo
    echo "| request | req/s | p50 ms | p99 ms | statuses |"
    echo "|---|---:|---:|---:|---|"
    row "GET /healthz (HTTP baseline)" "$WORK/healthz.json"
    row "GET /api/v1/queue (first page)" "$WORK/first.json"
    row "GET /api/v1/queue?cursor=… (deep page)" "$WORK/deep.json"
    pg_row "SQL of the first page (database baseline)" "$WORK/first.sql"
    pg_row "SQL of the deep page (database baseline)" "$WORK/deep.sql"
} | tee "$WORK/result.md"
echo
echo "Paste the section above into docs/benchmarks.md."
