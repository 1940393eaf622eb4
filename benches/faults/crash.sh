#!/usr/bin/env bash
# Crash test (issue 8, done-when 2): are acknowledged appeals durable and filed once when the
# server is killed, or PostgreSQL stops, in the middle of sustained filing?
#
# 1. creates a fresh PostgreSQL database, seeds the demo jurisdiction with `serve --demo` and
#    creates CITIZENS confirmed citizens with `murojiat users create`;
# 2. phase 1: benches/faults/filer.py files appeals from THREADS threads for DURATION seconds
#    (Tajik and Russian texts; a quarter as guests), each with its own Idempotency-Key, retrying
#    every unacknowledged request with the same key and body until it is acknowledged, while
#    this script kills the server with SIGKILL every 20–30 s and starts it again;
# 3. checks with SQL (benches/faults/check_filed.sql) that every acknowledged appeal exists with
#    its "file" event, idempotency record, deadline and forwarding-window jobs, outbox email(s)
#    and report row, that no key was filed twice, and that `murojiat audit verify` exits 0;
# 4. phase 2, only with PG_RESTART=1: the same load for PG_DURATION seconds while PostgreSQL
#    itself is stopped (`pg_ctlcluster ... stop -m immediate`, a crash of the database) for
#    PG_DOWN_SECS seconds, PG_OUTAGES times; the server keeps running. CAUTION: this stops the
#    machine's shared PostgreSQL and breaks everything else using it meanwhile;
# 5. prints "lost: N, duplicated: M" per phase; exits 1 if either is not zero, a request was
#    refused or never acknowledged, the server answered 500 (503 is the expected answer while
#    the database is away), or the audit fails.
#
# Usage: benches/faults/crash.sh [DURATION] [THREADS]   (from anywhere; default 180 s, 8 threads)
# Env: BIN=path runs that binary instead of building the release one,
#      PG_URL (server URL without database, default postgres://postgres@127.0.0.1:5432),
#      DB (database name, default murojiat_faults_crash; dropped and re-created, dropped at exit),
#      CITIZENS (default 8), KILL_MIN / KILL_MAX (seconds between kills, default 20 / 30),
#      PG_RESTART=1 enables phase 2, PG_DURATION (default 60), PG_OUTAGES (default 1),
#      PG_DOWN_SECS (default 10), KEEP=1 keeps the work folder (logs, acknowledgements).
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/faults/lib.sh
DURATION=${1:-180}
THREADS=${2:-8}
CITIZENS=${CITIZENS:-8}
KILL_MIN=${KILL_MIN:-20}
KILL_MAX=${KILL_MAX:-30}
PG_RESTART=${PG_RESTART:-0}
PG_DURATION=${PG_DURATION:-60}
PG_OUTAGES=${PG_OUTAGES:-1}
PG_DOWN_SECS=${PG_DOWN_SECS:-10}
DB=${DB:-murojiat_faults_crash}
PG_VERSION=$(ls /etc/postgresql 2>/dev/null | head -1)

command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }
faults_binary

WORK=$(mktemp -d)
SERVER_PID=
FILER_PID=
PG_STOPPED=0
pg_stop() { PG_STOPPED=1; pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main stop -m immediate; }
pg_start() { pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main start; PG_STOPPED=0; }
cleanup() {
    local status=$?
    if [[ $PG_STOPPED == 1 ]]; then pg_start || true; fi
    if [[ -n $FILER_PID ]]; then kill "$FILER_PID" 2>/dev/null || true; wait "$FILER_PID" 2>/dev/null || true; fi
    if [[ -n $SERVER_PID ]]; then stop_pid "$SERVER_PID"; fi
    drop_db
    if [[ ${KEEP:-0} == 1 ]]; then echo "work folder kept: $WORK" >&2; else rm -rf "$WORK"; fi
    exit "$status"
}
trap cleanup EXIT

fresh_world
create_acks_table

PORT=$(free_port)
B=http://127.0.0.1:$PORT
export MUROJIAT_SERVER__PORT=$PORT MUROJIAT_SERVER__PUBLIC_URL=$B
STARTS=0
start_server() {
    STARTS=$((STARTS + 1))
    "$BIN" --env production serve >>"$WORK/server-$STARTS.log" 2>&1 &
    SERVER_PID=$!
}

# run_filer PHASE SECONDS: starts the load client in the background.
run_filer() {
    python3 "$FAULTS_DIR/filer.py" --base "$B" --accounts "$WORK/accounts.json" \
        --acks "$WORK/acks-$1.jsonl" --threads "$THREADS" --duration "$2" --guest-share 0.25 \
        --summary "$WORK/filer-$1.json" >/dev/null 2> >(sed 's/^/  /' >&2) &
    FILER_PID=$!
}

# sleep_while_filing SECONDS: sleeps, returning early (status 1) when the client has finished.
sleep_while_filing() {
    local i
    for i in $(seq $(($1 * 10))); do
        kill -0 "$FILER_PID" 2>/dev/null || return 1
        sleep 0.1
    done
}

FAILED=0
# check PHASE LABEL: loads the phase's acknowledgements, checks them and prints the figures.
check() {
    local phase=$1 label=$2
    jq -r --argjson p "$phase" '[$p, .key, .appeal_id, .tracking_number, (.user_id // ""), .guest] | @csv' \
        "$WORK/acks-$phase.jsonl" >"$WORK/acks-$phase.csv"
    psql "$DB_URL" -qX -v ON_ERROR_STOP=1 -c "\\copy fault_acks FROM '$WORK/acks-$phase.csv' WITH (FORMAT csv, FORCE_NULL (user_id))"
    local figures audit audit_status=0
    figures=$(psql "$DB_URL" -qX -v ON_ERROR_STOP=1 -v phase="$phase" -f "$FAULTS_DIR/check_filed.sql")
    audit=$("$BIN" --env production audit verify 2>&1) || audit_status=$?
    local filer; filer=$(jq -c 'del(.failures)' "$WORK/filer-$phase.json")
    local -A f
    local pair
    for pair in $figures; do f[${pair%%=*}]=${pair#*=}; done
    local lost=${f[lost]} dup=$((f[duplicate_appeals] + f[duplicate_rows] + f[keys_acked_twice]))
    local gave_up rejected internal
    gave_up=$(jq .gave_up "$WORK/filer-$phase.json"); rejected=$(jq .rejected "$WORK/filer-$phase.json")
    # A 503 while the database is away is the expected answer; a 500 is a fault.
    internal=$(jq '.unacknowledging_statuses["500"] // 0' "$WORK/filer-$phase.json")
    local errors; errors=$(cat "$WORK"/server-*.log | grep -c '"status":5[0-9][0-9]' || true)
    local panics; panics=$(cat "$WORK"/server-*.log | grep -ci 'panicked' || true)
    {
        echo "== $label"
        echo "client: $filer"
        echo "database: $figures"
        echo "audit verify (exit $audit_status): $audit"
        echo "server 5xx responses logged so far: $errors, panics: $panics"
        echo "lost: $lost, duplicated: $dup"
    } | tee -a "$WORK/result.txt"
    if ((internal != 0)); then echo "the client was answered 500 $internal times" | tee -a "$WORK/result.txt"; fi
    if ((lost != 0 || dup != 0 || audit_status != 0 || gave_up != 0 || rejected != 0 || internal != 0)); then FAILED=1; fi
}

echo "== phase 1: filing for $DURATION s with $THREADS threads, kill -9 of the server every $KILL_MIN–$KILL_MAX s"
start_server
wait_healthy "$B" 60
run_filer 1 "$DURATION"
KILLS=0
while sleep_while_filing $((KILL_MIN + RANDOM % (KILL_MAX - KILL_MIN + 1))); do
    kill -KILL "$SERVER_PID" 2>/dev/null || echo "  the server had stopped by itself (see server-$STARTS.log)"
    wait "$SERVER_PID" 2>/dev/null || true
    KILLS=$((KILLS + 1))
    echo "  $(date -u +%T) killed the server (kill $KILLS); starting it again"
    start_server
done
wait "$FILER_PID" || true
FILER_PID=
check 1 "phase 1: server killed with SIGKILL $KILLS times in $DURATION s of filing"

if [[ $PG_RESTART == 1 ]]; then
    echo "== phase 2: filing for $PG_DURATION s, PostgreSQL stopped (immediate) $PG_OUTAGES time(s) for $PG_DOWN_SECS s"
    wait_healthy "$B" 60
    run_filer 2 "$PG_DURATION"
    GAP=$((PG_DURATION / (PG_OUTAGES + 1)))
    for i in $(seq "$PG_OUTAGES"); do
        sleep_while_filing "$GAP" || break
        echo "  $(date -u +%T) stopping PostgreSQL (outage $i)"
        pg_stop
        sleep "$PG_DOWN_SECS"
        pg_start
        echo "  $(date -u +%T) PostgreSQL started again"
    done
    wait "$FILER_PID" || true
    FILER_PID=
    kill -0 "$SERVER_PID" || { echo "the server died during phase 2" | tee -a "$WORK/result.txt"; FAILED=1; }
    check 2 "phase 2: PostgreSQL stopped $PG_OUTAGES time(s) for $PG_DOWN_SECS s during $PG_DURATION s of filing"
else
    echo "== phase 2 skipped (PG_RESTART=1 enables it; it stops the machine's shared PostgreSQL)"
fi
exit "$FAILED"
