#!/bin/bash
# Where one workload's wall time goes: `add`, `run` until its first request
# reaches nginx, the transfer (first request's start to last request's end,
# from nginx's log), and last byte to exit. Run from the repository root with
# the venv active, against the harness's nginx:
#
#   DLBENCH_DIR=/tmp/dlbench/proto bash ../shared/bench/serve.sh start /tmp/dlbench/data
#   DLBENCH_DIR=/tmp/dlbench/proto bash bench/phases.sh W1 [RUNS] [-- run args...]
#   DLBENCH_DIR=/tmp/dlbench/proto bash ../shared/bench/serve.sh stop
#
# W4 is served by the throttled port (SLOW_PORT), the others by FAST_PORT.
# Compiles drayman first: a stale .pyc under PYTHONDONTWRITEBYTECODE=1 is
# compiled again at every start, ~0.1 s that is no part of drayman's start.
set -euo pipefail
workload=${1:?usage: phases.sh W1|W2|W3|W4 [RUNS] [-- run args...]}
runs=${2:-3}
shift $(( $# >= 2 ? 2 : 1 ))
[ "${1:-}" = "--" ] && shift
state=${DLBENCH_DIR:?set DLBENCH_DIR to the harness state folder (serve.sh start)}
source "$state/nginx/ports.env"
port=$FAST_PORT
[ "$workload" = W4 ] && port=$SLOW_PORT
work=$(mktemp -d /tmp/drayman-phases.XXXXXX)
trap 'rm -rf "$work"' EXIT
ls "$ROOT/$workload" | sed "s#^#http://127.0.0.1:$port/$workload/#" > "$work/list"
env -u PYTHONDONTWRITEBYTECODE python -m compileall -q src >/dev/null
for _ in $(seq "$runs"); do
    rm -rf "$work/out" "$work"/jobs.db*
    seen=$(wc -l < "$ACCESS_LOG")
    t0=$(date +%s.%N)
    drayman --db "$work/jobs.db" add -i "$work/list" -d "$work/out" >/dev/null 2>"$work/log" ||
        { cat "$work/log"; exit 1; }
    t1=$(date +%s.%N)
    drayman --db "$work/jobs.db" run --until-idle -j 16 "$@" >/dev/null 2>"$work/log" ||
        { cat "$work/log"; exit 1; }
    t2=$(date +%s.%N)
    tail -n +"$((seen + 1))" "$ACCESS_LOG" | awk -F'\t' -v t0="$t0" -v t1="$t1" -v t2="$t2" '
        BEGIN { first = 1e18; last = 0 }
        { start = $1 - $9; if (start < first) first = start; if ($1 > last) last = $1 }
        END { printf "add %.3f s  run to first request %.3f s  transfer %.3f s  last byte to exit %.3f s  total %.3f s\n",
              t1 - t0, first - t1, last - first, t2 - last, t2 - t0 }'
done
