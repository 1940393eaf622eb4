#!/usr/bin/env bash
# Scheduler failover test (issue 8, done-when 2): two `murojiat worker` processes share ~10,000
# due jobs on PostgreSQL; one is killed with SIGKILL in the middle. Does every due job take
# effect exactly once?
#
# 1. creates a fresh PostgreSQL database, seeds the demo jurisdiction with `serve --demo`,
#    creates CITIZENS citizens, and files APPEALS appeals through the API
#    (benches/faults/filer.py; the in-process scheduler is off). Filing plans each appeal's
#    jobs (services/scheduler/plan.rs): two or three reminders, the deadline, the forwarding
#    window;
# 2. moves the appeals' deadlines and their jobs into the past with SQL, in one transaction
#    (appeals.due_at, the jobs' run_at and the due instant in the reminder and deadline jobs'
#    payloads, which the effects check against the appeal's): half the appeals are late, their
#    deadline SHIFT_DAYS (default 45) days past, so their deadline jobs escalate and their
#    reminders, due too, are moot (a reminder after the deadline tells nobody anything); the
#    other half is due in a day, so their reminders are due and remind, and their deadline
#    jobs are not due. Every forwarding window is SHIFT_DAYS days past. The due jobs and the
#    effect each must have are recorded in the table fault_due;
# 3. starts workers A and B; when KILL_AT percent (default 30) of the due jobs are done, kills
#    A with SIGKILL (the batch A was running rolls back, and the appeals it held are free at
#    once); waits until B has run every due job;
# 4. counts the effects (services/scheduler/effects.rs, batch.rs) per appeal against the due
#    jobs: one internal "remind" event per reminder job of an appeal not yet late and none for
#    a late one's, one "overdue" event and one escalation (the job done with outcome
#    "applied" or "unalerted") per deadline job, one
#    "forwarding_window_closed" event per forwarding job; prints who ran what, `murojiat audit verify`, and "lost: N, duplicated: M"; exits 1
#    unless both are 0 and the audit passes.
#
# Usage: benches/faults/failover.sh [APPEALS] [KILL_AT]   (default 2500 appeals ≈ 10,000 jobs, 30%)
# Env: BIN=path runs that binary instead of building the release one,
#      PG_URL (server URL without database, default postgres://postgres@127.0.0.1:5432),
#      DB (database name, default murojiat_faults_failover; dropped and re-created, dropped at exit),
#      CITIZENS (default 8), THREADS (filing threads, default 8),
#      SHIFT_DAYS (default 45), RUN_TIMEOUT (default 600 s), KEEP=1 keeps the work folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/faults/lib.sh
APPEALS=${1:-2500}
KILL_AT=${2:-30}
CITIZENS=${CITIZENS:-8}
THREADS=${THREADS:-8}
SHIFT_DAYS=${SHIFT_DAYS:-45}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
DB=${DB:-murojiat_faults_failover}

command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; }
faults_binary

WORK=$(mktemp -d)
SERVER_PID=
A_PID=
B_PID=
cleanup() {
    local status=$?
    for pid in $SERVER_PID $A_PID $B_PID; do stop_pid "$pid"; done
    drop_db
    if [[ ${KEEP:-0} == 1 ]]; then echo "work folder kept: $WORK" >&2; else rm -rf "$WORK"; fi
    exit "$status"
}
trap cleanup EXIT

fresh_world

echo "== filing $APPEALS appeals through the API"
PORT=$(free_port)
B=http://127.0.0.1:$PORT
MUROJIAT_SERVER__PORT=$PORT MUROJIAT_SERVER__PUBLIC_URL=$B MUROJIAT_SCHEDULER__ENABLED=false \
MUROJIAT_MAIL__OUTBOX__DELIVER=false "$BIN" --env production serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_healthy "$B" 60
python3 "$FAULTS_DIR/filer.py" --base "$B" --accounts "$WORK/accounts.json" --acks "$WORK/acks.jsonl" \
    --threads "$THREADS" --count "$APPEALS" --summary "$WORK/filer.json" >/dev/null \
    2> >(sed 's/^/  /' >&2)
stop_pid "$SERVER_PID"; SERVER_PID=
FILED=$(sql "SELECT count(*) FROM appeals")
[[ $FILED == "$APPEALS" ]] || { echo "filed $FILED appeals instead of $APPEALS" >&2; exit 1; }

echo "== moving the deadlines of $FILED appeals and their jobs: half $SHIFT_DAYS days late, half due in a day"
psql "$DB_URL" -qX -v ON_ERROR_STOP=1 <<SQL
SET TimeZone = 'UTC';
BEGIN;
CREATE TABLE fault_late AS SELECT id FROM appeals ORDER BY id LIMIT (SELECT count(*) / 2 FROM appeals);
CREATE TABLE fault_shift AS SELECT id, CASE WHEN id IN (SELECT id FROM fault_late)
    THEN interval '$SHIFT_DAYS days' ELSE due_at - now() - interval '1 day' END AS shift FROM appeals;
UPDATE appeals a SET due_at = a.due_at - s.shift FROM fault_shift s WHERE s.id = a.id;
UPDATE jobs j SET run_at = j.run_at - s.shift,
    payload = jsonb_set(j.payload::jsonb, '{due_at}',
        to_jsonb((j.payload::jsonb->>'due_at')::timestamptz - s.shift))::text
    FROM fault_shift s WHERE s.id = j.appeal_id AND j.status = 'pending' AND j.kind IN ('reminder', 'deadline');
UPDATE jobs SET run_at = run_at - interval '$SHIFT_DAYS days'
    WHERE status = 'pending' AND kind = 'forwarding_window';
CREATE TABLE fault_due AS SELECT j.id, j.kind, j.appeal_id, CASE
        WHEN j.kind = 'reminder' AND j.appeal_id IN (SELECT id FROM fault_late) THEN NULL
        WHEN j.kind = 'reminder' THEN 'remind' WHEN j.kind = 'deadline' THEN 'overdue'
        ELSE 'forwarding_window_closed' END AS effect
    FROM jobs j WHERE j.status = 'pending' AND j.run_at <= now();
COMMIT;
SQL
DUE=$(sql "SELECT count(*) FROM fault_due")
NOT_DUE=$(sql "SELECT count(*) FROM jobs WHERE status = 'pending' AND run_at > now()")
MOOT=$(sql "SELECT count(*) FROM fault_due WHERE effect IS NULL")
echo "  due jobs: $DUE ($(sql "SELECT string_agg(kind || ' ' || n, ', ') FROM (SELECT kind, count(*) n FROM fault_due GROUP BY 1 ORDER BY 1) k")), of which $MOOT reminders of late appeals; pending and not due: $NOT_DUE"

done_jobs() { sql "SELECT count(*) FROM jobs j JOIN fault_due d USING (id) WHERE j.status <> 'pending'"; }

echo "== workers A and B; A is killed at $KILL_AT% done"
START=$(date +%s.%N)
"$BIN" --env production worker >"$WORK/worker-a.log" 2>&1 &
A_PID=$!
"$BIN" --env production worker >"$WORK/worker-b.log" 2>&1 &
B_PID=$!
A_NUM=$A_PID B_NUM=$B_PID
KILL_DONE=$((DUE * KILL_AT / 100))
deadline=$((SECONDS + RUN_TIMEOUT))
while (($(done_jobs) < KILL_DONE)); do
    if ((SECONDS > deadline)); then echo "the workers did not reach $KILL_AT% in $RUN_TIMEOUT s" >&2; exit 1; fi
    sleep 0.05
done
kill -KILL "$A_PID"; wait "$A_PID" 2>/dev/null || true; A_PID=
KILLED_AT=$(date +%s.%N)
AT_KILL=$(done_jobs)
echo "  $(date -u +%T) killed A with $AT_KILL of $DUE jobs done; B runs the rest, A's unfinished batch included"
while (($(done_jobs) < DUE)); do
    if ((SECONDS > deadline)); then echo "  B did not finish in $RUN_TIMEOUT s" >&2; break; fi
    sleep 0.2
done
END=$(date +%s.%N)
stop_pid "$B_PID"; B_PID=

echo "== counting effects"
BY_OWNER=$(sql "SELECT string_agg(w || ' ' || n, ', ') FROM (SELECT CASE WHEN j.ran_by LIKE '%:$A_NUM:%' THEN 'A'
    WHEN j.ran_by LIKE '%:$B_NUM:%' THEN 'B' ELSE coalesce(j.ran_by, '-') END AS w, count(*) n
    FROM jobs j JOIN fault_due d USING (id) WHERE j.status = 'done' GROUP BY 1 ORDER BY 1) o")
STATUSES=$(sql "SELECT string_agg(status || ' ' || n, ', ') FROM (SELECT j.status, count(*) n FROM jobs j
    JOIN fault_due d USING (id) GROUP BY 1 ORDER BY 1) s")
read -r LOST DUP < <(sql "
WITH expected AS (
    SELECT appeal_id, effect, count(*) AS n FROM fault_due WHERE effect IS NOT NULL GROUP BY 1, 2
    UNION ALL
    SELECT appeal_id, 'escalation', count(*) FROM fault_due WHERE kind = 'deadline' GROUP BY 1
), actual AS (
    SELECT appeal_id, action AS effect, count(*) AS n FROM appeal_events
    WHERE action IN ('remind', 'overdue', 'forwarding_window_closed') GROUP BY 1, 2
    UNION ALL
    SELECT appeal_id, 'escalation', count(*) FROM jobs
    WHERE kind = 'deadline' AND outcome IN ('applied', 'unalerted') GROUP BY 1
), compared AS (
    SELECT coalesce(e.n, 0) AS expected, coalesce(a.n, 0) AS actual
    FROM expected e FULL JOIN actual a USING (appeal_id, effect)
)
SELECT coalesce(sum(greatest(expected - actual, 0)), 0), coalesce(sum(greatest(actual - expected, 0)), 0)
FROM compared" | tr '|' ' ')
EFFECTS=$(sql "SELECT string_agg(effect || ' ' || n, ', ') FROM (
    SELECT action AS effect, count(*) n FROM appeal_events WHERE action IN ('remind', 'overdue', 'forwarding_window_closed') GROUP BY 1
    UNION ALL SELECT 'escalations', count(*) FROM jobs WHERE kind = 'deadline' AND outcome IN ('applied', 'unalerted')
    ORDER BY 1) e")
AUDIT_STATUS=0
AUDIT=$("$BIN" --env production audit verify 2>&1) || AUDIT_STATUS=$?
{
    echo "== failover: $DUE due jobs over $FILED appeals, workers A and B, A killed with SIGKILL at $AT_KILL done (${KILL_AT}% target)"
    echo "jobs by status: $STATUSES; done by worker: $BY_OWNER"
    echo "run: $(awk -v s="$START" -v k="$KILLED_AT" -v e="$END" 'BEGIN { printf "A killed %.1f s after the start; all done %.1f s after the start", k - s, e - s }')"
    echo "effects: $EFFECTS"
    echo "audit verify (exit $AUDIT_STATUS): $AUDIT"
    echo "lost: $LOST, duplicated: $DUP"
} | tee "$WORK/result.txt"
((LOST == 0 && DUP == 0 && AUDIT_STATUS == 0))
