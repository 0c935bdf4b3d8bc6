#!/usr/bin/env bash
# Rust fgf server vs the Python baseline (jieba + scikit-learn behind grpcio),
# on the same machine, the same documents and the same load generator.
#
#   bash bench/compare.sh            # from the repository root
#
# Needs: a Rust toolchain, python3 with venv (PyPI reachable once for
# bench/python_baseline/setup.sh), taskset (util-linux), 2+ cores.
# Environment: DURATION (default 10s per run), DOC_SIZE (default 10000 bytes),
# PY_VARIANTS (default "jieba rjieba rjieba-stacked"): the Python baseline
# variants to measure (server.py --variant; see bench/python_baseline/README.md),
# one row each. Ratios are against the fastest of them.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
DOC_SIZE=${DOC_SIZE:-10000}
PY_VARIANTS=${PY_VARIANTS:-jieba rjieba rjieba-stacked}
RUST_PORT=50151
PY_PORT=50161
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "building..." >&2
cargo build --release --quiet
FGF=target/release/fgf
bash bench/python_baseline/setup.sh >&2
PY=${VENV:-bench/python_baseline/.venv}/bin/python
# Refuse unknown variants now: a server that exits at start would leave
# wait_port waiting.
known=$("$PY" -c 'import sys; sys.path.insert(0, "bench/python_baseline"); import fgf_baseline; print(" ".join(fgf_baseline.VARIANTS))')
[ -n "${PY_VARIANTS// /}" ] || { echo "PY_VARIANTS is empty (known: $known)" >&2; exit 1; }
for v in $PY_VARIANTS; do
  case " $known " in *" $v "*) ;; *) echo "PY_VARIANTS: unknown variant $v (known: $known)" >&2; exit 1 ;; esac
done

# Wall time from exec until the port accepts connections (both servers load
# their model before they bind).
wait_port() { # port start_ns -> prints seconds
  local port=$1 start=$2
  until (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do sleep 0.005; done
  echo "scale=3; ($(date +%s%N) - $start) / 1000000000" | bc
}
# user+system CPU seconds of a process and its children (Python workers).
cpu_seconds() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    total=$(awk -v t="$total" '{print t + ($14 + $15)}' /proc/"$p"/stat)
  done
  echo "scale=3; $total / $(getconf CLK_TCK)" | bc
}
# Peak resident set (MB) of a process and its children.
peak_rss() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    total=$((total + $(awk '/VmHWM/{print $2}' /proc/"$p"/status)))
  done
  echo "scale=1; $total / 1024" | bc
}
json() { "$PY" -c "import json,sys; d=json.load(open('$1')); print($2)"; }

# The documents: generated from the training corpus, saved for both sides.
DOCS=$WORK/docs.jsonl

run_server() { # name cores [variant] -> starts, sets PID and READY
  local name=$1 cores=$2 variant=${3:-} start
  start=$(date +%s%N)
  if [ "$name" = rust ]; then
    taskset -c "$cores" $FGF serve --addr 127.0.0.1:$RUST_PORT \
      --cpu-jobs "$(echo "$cores" | tr ',' '\n' | wc -l)" --workers "$(echo "$cores" | tr ',' '\n' | wc -l)" \
      >"$WORK/$name.log" 2>&1 &
    PID=$!; READY=$(wait_port $RUST_PORT "$start"); PORT=$RUST_PORT
  else
    taskset -c "$cores" "$PY" bench/python_baseline/server.py --addr 127.0.0.1:$PY_PORT \
      --workers "$(echo "$cores" | tr ',' '\n' | wc -l)" --variant "$variant" >"$WORK/$name-$variant.log" 2>&1 &
    PID=$!; READY=$(wait_port $PY_PORT "$start"); PORT=$PY_PORT
  fi
}

measure() { # name server_cores bench_cores label [variant]
  local name=$1 cores=$2 bcores=$3 label=$4 variant=${5:-} cpu0 cpu1
  run_server "$name" "$cores" "$variant"
  if [ ! -f "$DOCS" ]; then
    taskset -c "$bcores" $FGF bench --server http://127.0.0.1:$PORT --count 1 --warmup 0s \
      --doc-size "$DOC_SIZE" --write-docs "$DOCS" >/dev/null
  fi
  # Peak: closed loop, 8 concurrent calls.
  taskset -c "$bcores" $FGF bench --server http://127.0.0.1:$PORT --docs "$DOCS" \
    --concurrency 8 --warmup 2s --duration 1s >/dev/null
  cpu0=$(cpu_seconds $PID)
  taskset -c "$bcores" $FGF bench --server http://127.0.0.1:$PORT --docs "$DOCS" \
    --concurrency 8 --warmup 0s --duration "$DURATION" --json "$WORK/$label.peak.json" \
    >>"$WORK/bench.log" 2>&1
  cpu1=$(cpu_seconds $PID)
  # A server that answers with errors is not being measured: stop (the
  # Python server once refused every default request after a proto change).
  local errors
  errors=$(json "$WORK/$label.peak.json" "sum(d['errors'].values())")
  if [ "$errors" != 0 ]; then
    echo "$label: $errors of the calls failed: $(json "$WORK/$label.peak.json" "d['errors']"); see $WORK/$name*.log" >&2
    exit 1
  fi
  local peak mb
  peak=$(json "$WORK/$label.peak.json" "d['docs_per_s']")
  mb=$(json "$WORK/$label.peak.json" "d['bytes']/1e6")
  # Latency at 80% of this server's peak, open loop.
  local rate
  rate=$(echo "scale=1; $peak * 0.8" | bc)
  taskset -c "$bcores" $FGF bench --server http://127.0.0.1:$PORT --docs "$DOCS" \
    --concurrency 64 --rate "$rate" --warmup 0s --duration "$DURATION" \
    --json "$WORK/$label.p80.json" >>"$WORK/bench.log" 2>&1
  echo "$label $(json "$WORK/$label.peak.json" "round(d['docs_per_s'],1)") \
$(json "$WORK/$label.peak.json" "round(d['mb_per_s'],2)") \
$(json "$WORK/$label.peak.json" "d['latency']['p50_ms']") \
$(json "$WORK/$label.peak.json" "d['latency']['p99_ms']") \
$(json "$WORK/$label.p80.json" "d['latency']['p50_ms']") \
$(json "$WORK/$label.p80.json" "d['latency']['p99_ms']") \
$(echo "scale=3; ($cpu1 - $cpu0) / $mb" | bc) \
$(peak_rss $PID) $READY" >>"$WORK/rows"
  # What batch clients see: TagStream (2 streams, 8 documents in flight
  # each, as `fgf tag` runs them), next to the unary peak above.
  if [ "$name" = rust ]; then
    taskset -c "$bcores" $FGF bench --server http://127.0.0.1:$PORT --docs "$DOCS" \
      --mode stream --concurrency 2 --window 8 --warmup 1s --duration "$DURATION" \
      --json "$WORK/$label.stream.json" >>"$WORK/bench.log" 2>&1
    echo "$label $(json "$WORK/$label.stream.json" "round(d['docs_per_s'],1)") \
$(json "$WORK/$label.stream.json" "d['latency']['p99_ms']") $peak" >>"$WORK/streams"
  fi
  kill $PID; wait $PID 2>/dev/null || true
}

: >"$WORK/rows"
: >"$WORK/streams"
echo "measuring (2 + 2 x $(echo $PY_VARIANTS | wc -w) servers, 2 runs of $DURATION each)..." >&2
measure rust 0 1 rust-1core
for v in $PY_VARIANTS; do measure python 0 1 "python-$v-1core" "$v"; done
measure rust 0,1 0,1 rust-2cores
for v in $PY_VARIANTS; do measure python 0,1 0,1 "python-$v-2cores" "$v"; done

# In process, one core: fgf's whole tag vs the Python pipeline's
# transform + predict on the same documents (five times over, so that
# loading the model is a small part of the time), for each Python variant.
for _ in 1 2 3 4 5; do cat "$DOCS"; done >"$WORK/docs5.jsonl"
local_rate=$(taskset -c 0 $FGF tag "$WORK/docs5.jsonl" --local --threads 1 --out "$WORK/local.jsonl" 2>&1 \
  | sed -n 's/.*(\([0-9.]*\) docs\/s).*/\1/p')
: >"$WORK/inprocess"
for v in $PY_VARIANTS; do
  echo "$v $(taskset -c 0 "$PY" bench/python_baseline/inprocess.py "$WORK/docs5.jsonl" --variant "$v" \
    | "$PY" -c "import json,sys; print(round(json.load(sys.stdin)['docs_per_s'],1))")" >>"$WORK/inprocess"
done

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); documents: $(wc -l <"$DOCS") x ~${DOC_SIZE} bytes; runs of $DURATION"
# First column as wide as the longest label (python-rjieba-stacked-2cores).
w=$(awk '{ if (length($1) > w) w = length($1) } END { print (w > 14 ? w : 14) }' "$WORK/rows")
printf "%-${w}s %9s %7s %8s %8s %9s %9s %9s %8s %8s\n" server docs/s MB/s p50ms p99ms p50@80% p99@80% cpu-s/MB rssMB ready-s
while read -r l a b c d e f g h i; do
  printf "%-${w}s %9s %7s %8s %8s %9s %9s %9s %8s %8s\n" "$l" "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i"
done <"$WORK/rows"
# Ratios against the strongest Python: the variant with the most docs/s at
# that core count.
"$PY" - "$WORK/rows" <<'PYEOF'
import sys
rows = {l.split()[0]: [float(x) for x in l.split()[1:]] for l in open(sys.argv[1])}
names = ["docs/s", "MB/s", "p50ms", "p99ms", "p50@80%", "p99@80%", "cpu-s/MB", "rssMB", "ready-s"]
for cores in ("1core", "2cores"):
    r = rows[f"rust-{cores}"]
    py = {k: v for k, v in rows.items() if k.startswith("python-") and k.endswith(f"-{cores}")}
    best = max(py, key=lambda k: py[k][0])
    p = py[best]
    print(f"python/rust {cores:<7}" + " ".join(f"{n}={b/a:.2f}" if a else f"{n}=n/a" for n, a, b in zip(names, r, p)))
    print(f"  against {best}, the fastest of {len(py)} python variants: rust/python docs/s {r[0] / p[0]:.1f}x")
PYEOF
while read -r v rate; do
  echo "in process, 1 core: fgf tag --local ${local_rate} docs/s, python-$v transform+predict ${rate} docs/s (rust/python $(echo "scale=1; $local_rate / $rate" | bc)x)"
done <"$WORK/inprocess"
read -r best best_rate < <(sort -k2,2 -g -r "$WORK/inprocess" | head -1)
echo "in process, 1 core: rust/python $(echo "scale=1; $local_rate / $best_rate" | bc)x against the fastest python variant, $best"
while read -r l docs p99 unary; do
  printf 'TagStream (%s, 2 streams x 8 in flight): %s docs/s (unary peak %.1f), p99 per document %s ms\n' \
    "$l" "$docs" "$unary" "$p99"
done <"$WORK/streams"
# stage/: one 10 KB document again and again, so what it needs stays in
# cache; stream/: 200 distinct ones, as a server sees them.
echo "limit (jieba-rs cut alone vs the whole in-process tag, criterion; stage: one 10 KB document repeated, stream: 200 distinct ones):"
cargo bench --quiet --bench tagging -- '10KB' 2>/dev/null \
  | awk '/^(stage|stream)\//{name=$1} /thrpt:  \[/{ if (name!="") {print "  " name, $4, $5; name=""} }' \
  | grep -E 'jieba_cut/|/tag/' | tee "$WORK/limit"
awk '{ v = $2; if ($3 == "KiB/s") v /= 1024; if ($3 == "GiB/s") v *= 1024
       split($1, p, "/"); rate[p[1] "/" p[2]] = v }
     END { for (g in rate) if (g ~ /\/tag$/) { c = g; sub(/\/tag$/, "/jieba_cut", c)
             if (c in rate) printf "  %s: whole tag at %.2fx the speed of cut alone\n", substr(g, 1, index(g, "/") - 1), rate[g] / rate[c] } }' "$WORK/limit"
