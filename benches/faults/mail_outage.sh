#!/usr/bin/env bash
# Mail outage test (issue 8, done-when 2): does every email the outbox records as sent reach
# the mail server exactly once when the mail server goes away for a while under load, and how
# fast does the backlog drain when it is back?
#
# 1. creates a fresh PostgreSQL database, seeds the demo jurisdiction with `serve --demo` and
#    creates CITIZENS confirmed citizens with `murojiat users create`;
# 2. starts benches/faults/smtp_sink.py (a small SMTP server that stores each message and logs
#    its Message-ID) and the server with the SMTP transport pointed at it;
# 3. files appeals from THREADS threads with benches/faults/filer.py (half as guests, who get
#    two emails, "appeal received" and "access code"; citizens get "appeal received") for
#    20 s, kills the sink (SIGKILL) for DOWN seconds while filing goes on, starts it again,
#    files 20 s more, then waits until the outbox holds nothing pending, failed or sending;
# 4. compares the outbox with the sink's log: every row marked sent arrived, each Message-ID
#    exactly once, and no row is left unsent (pending, failed or dead); checks the acknowledged
#    appeals as crash.sh does; prints the backlog when the sink came back, how long it took to
#    send it and at what rate, and "lost: N, duplicated: M"; exits 1 unless both are 0.
#
# For the script the delivery worker's back-off is shortened (MUROJIAT_MAIL__RETRY__DELAYS_SECS:
# 5 s, ±20% jitter, repeated so that no message runs out of attempts during the outage; the
# shipped schedule waits 1 min, 5 min, 30 min, ...) and the per-recipient hourly cap is lifted
# (MUROJIAT_MAIL__OUTBOX__HOURLY_CAP_PER_RECIPIENT=1000000: eight citizens file hundreds of
# appeals each; with the shipped cap of 20 their notices would wait for the next hour).
#
# Usage: benches/faults/mail_outage.sh [DOWN] [THREADS]   (default 60 s, 4 threads)
# Env: BIN=path runs that binary instead of building the release one,
#      PG_URL (server URL without database, default postgres://postgres@127.0.0.1:5432),
#      DB (database name, default murojiat_faults_mail; dropped and re-created, dropped at exit),
#      CITIZENS (default 8), RETRY_SECS (default 5), DRAIN_TIMEOUT (default 300 s),
#      KEEP=1 keeps the work folder (logs, the sink's messages).
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/faults/lib.sh
DOWN=${1:-60}
THREADS=${2:-4}
CITIZENS=${CITIZENS:-8}
RETRY_SECS=${RETRY_SECS:-5}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-300}
DB=${DB:-murojiat_faults_mail}
WARM=20
AFTER=20

command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }
faults_binary

WORK=$(mktemp -d)
SERVER_PID=
FILER_PID=
SINK_PID=
cleanup() {
    local status=$?
    if [[ -n $FILER_PID ]]; then kill "$FILER_PID" 2>/dev/null || true; wait "$FILER_PID" 2>/dev/null || true; fi
    if [[ -n $SERVER_PID ]]; then stop_pid "$SERVER_PID"; fi
    if [[ -n $SINK_PID ]]; then stop_pid "$SINK_PID"; fi
    drop_db
    if [[ ${KEEP:-0} == 1 ]]; then echo "work folder kept: $WORK" >&2; else rm -rf "$WORK"; fi
    exit "$status"
}
trap cleanup EXIT

fresh_world
create_acks_table

SINK_PORT=$(free_port)
start_sink() {
    python3 "$FAULTS_DIR/smtp_sink.py" --port "$SINK_PORT" --dir "$WORK/sink" >>"$WORK/sink.log" 2>&1 &
    SINK_PID=$!
    for _ in $(seq 50); do
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $SINK_PORT), 0.2).close()" \
            2>/dev/null && return 0
        sleep 0.1
    done
    echo "the SMTP sink did not start" >&2; return 1
}
start_sink

# Enough 5 s retries to outlast the outage by a wide margin.
ATTEMPTS=$((DOWN / RETRY_SECS + 20))
DELAYS=$(printf "%s," $(yes "$RETRY_SECS" | head -n "$ATTEMPTS")); DELAYS="[${DELAYS%,}]"
PORT=$(free_port)
B=http://127.0.0.1:$PORT
MUROJIAT_SERVER__PORT=$PORT MUROJIAT_SERVER__PUBLIC_URL=$B \
MUROJIAT_MAIL__TRANSPORT=smtp MUROJIAT_MAIL__SMTP__HOST=127.0.0.1 MUROJIAT_MAIL__SMTP__PORT=$SINK_PORT \
MUROJIAT_MAIL__SMTP__SECURITY=none MUROJIAT_MAIL__SMTP__TIMEOUT_SECS=10 \
MUROJIAT_MAIL__RETRY__DELAYS_SECS="$DELAYS" \
MUROJIAT_MAIL__OUTBOX__HOURLY_CAP_PER_RECIPIENT=1000000 \
    "$BIN" --env production serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_healthy "$B" 60

backlog() { sql "SELECT count(*) FROM outbox WHERE status IN ('pending', 'failed', 'sending')"; }

echo "== filing for $((WARM + DOWN + AFTER)) s with $THREADS threads; the SMTP sink is down from $WARM s for $DOWN s"
python3 "$FAULTS_DIR/filer.py" --base "$B" --accounts "$WORK/accounts.json" --acks "$WORK/acks-1.jsonl" \
    --threads "$THREADS" --duration $((WARM + DOWN + AFTER)) --guest-share 0.5 \
    --summary "$WORK/filer-1.json" >/dev/null 2> >(sed 's/^/  /' >&2) &
FILER_PID=$!
sleep "$WARM"
kill -KILL "$SINK_PID"; wait "$SINK_PID" 2>/dev/null || true; SINK_PID=
echo "  $(date -u +%T) SMTP sink killed; sent so far: $(sql "SELECT count(*) FROM outbox WHERE status = 'sent'")"
sleep "$DOWN"
BACKLOG=$(backlog)
RESTART_AT=$(sql "SELECT now()")
start_sink
echo "  $(date -u +%T) SMTP sink started again; backlog: $BACKLOG messages"
wait "$FILER_PID" || true
FILER_PID=
deadline=$((SECONDS + DRAIN_TIMEOUT))
while (($(backlog) > 0)); do
    if ((SECONDS > deadline)); then echo "  the outbox did not drain within $DRAIN_TIMEOUT s" >&2; break; fi
    sleep 0.5
done
LEFT=$(backlog)

# The backlog at the restart: rows created before it; when the last of them was sent.
read -r BACKLOG_SENT BACKLOG_SECS < <(sql "SELECT count(*), coalesce(extract(epoch FROM max(sent_at) - '$RESTART_AT'::timestamptz), 0)
    FROM outbox WHERE created_at < '$RESTART_AT'::timestamptz AND sent_at >= '$RESTART_AT'::timestamptz" | tr '|' ' ')
psql "$DB_URL" -qXtA -F $'\t' -c "SELECT message_id, status, template FROM outbox" >"$WORK/outbox.tsv"
jq -r '[1, .key, .appeal_id, .tracking_number, (.user_id // ""), .guest] | @csv' "$WORK/acks-1.jsonl" >"$WORK/acks-1.csv"
psql "$DB_URL" -qX -v ON_ERROR_STOP=1 -c "\\copy fault_acks FROM '$WORK/acks-1.csv' WITH (FORMAT csv, FORCE_NULL (user_id))"
FILED=$(psql "$DB_URL" -qX -v ON_ERROR_STOP=1 -v phase=1 -f "$FAULTS_DIR/check_filed.sql")

# Outbox against arrivals: lost = sent but never arrived, or never sent; duplicated = arrived
# more than once, or arrived without an outbox row.
read -r LOST DUP DETAIL < <(python3 - "$WORK/outbox.tsv" "$WORK/sink/arrivals.tsv" <<'EOF'
import collections, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
arrived = collections.Counter(line.split("\t")[1] for line in open(sys.argv[2], encoding="utf-8") if line.strip())
status = collections.Counter(r[1] for r in rows)
ids = {r[0] for r in rows}
sent = [r[0] for r in rows if r[1] == "sent"]
never_arrived = sum(1 for m in sent if arrived[m] == 0)
unsent = sum(1 for r in rows if r[1] not in ("sent", "dropped"))
twice = sum(arrived[m] - 1 for m in sent if arrived[m] > 1)
unsent_arrived = sum(1 for r in rows if r[1] != "sent" and arrived[r[0]] > 0)
strangers = sum(n for m, n in arrived.items() if m not in ids)
detail = (f"outbox={dict(status)} arrivals={sum(arrived.values())} distinct_message_ids={len(arrived)} "
          f"sent_not_arrived={never_arrived} not_sent={unsent} arrived_twice={twice} "
          f"arrived_while_unsent={unsent_arrived} unknown_message_ids={strangers}")
print(never_arrived + unsent, twice + strangers, detail.replace(" ", ";"))
EOF
)
RATE=$(awk -v n="$BACKLOG_SENT" -v s="$BACKLOG_SECS" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print "n/a" }')
AUDIT_STATUS=0
AUDIT=$("$BIN" --env production audit verify 2>&1) || AUDIT_STATUS=$?
ERRORS=$(grep -c '"status":5[0-9][0-9]' "$WORK/server.log" || true)
{
    echo "== mail outage: SMTP sink down $DOWN s during $((WARM + DOWN + AFTER)) s of filing ($THREADS threads)"
    echo "client: $(jq -c 'del(.failures)' "$WORK/filer-1.json")"
    echo "filing: $FILED"
    echo "mail: ${DETAIL//;/ }"
    echo "backlog when the sink came back: $BACKLOG messages; $BACKLOG_SENT of the messages queued before then sent after it, the last $(printf '%.1f' "$BACKLOG_SECS") s after the restart ($RATE messages/s); left unsent: $LEFT"
    echo "audit verify (exit $AUDIT_STATUS): $AUDIT; server 5xx responses: $ERRORS"
    echo "lost: $LOST, duplicated: $DUP"
} | tee "$WORK/result.txt"
FILED_LOST=$(tr ' ' '\n' <<<"$FILED" | sed -n 's/^lost=//p')
((LOST == 0 && DUP == 0 && FILED_LOST == 0 && AUDIT_STATUS == 0))
