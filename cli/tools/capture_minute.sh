#!/usr/bin/env bash
# A minute (or --seconds N) of traffic between `wireforms send` clients and
# `wireforms serve` on loopback, all five formats over TCP and the three
# datagram formats over UDP, captured with tcpdump and decoded with
# `wireforms decode --pcap`. Checks that every message each client sent,
# and every reply it printed, is decoded once, with 0 errors, 0 gaps and 0
# packets dropped; prints the figures of docs/capture.md.
#
#   cli/tools/capture_minute.sh [--seconds N] [--pace S] [--bin PATH] [--dir DIR]
#
# --pace S: each client waits S seconds between its connections (default
# 0.2). --bin: the wireforms binary (default: target/release/wireforms,
# built if missing). --dir: keep the capture and logs there (default: a
# temporary directory, removed at exit). Needs root (tcpdump on lo).
set -euo pipefail

seconds=60
pace=0.2
bin=""
dir=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --pace) pace="$2"; shift 2 ;;
        --bin) bin="$2"; shift 2 ;;
        --dir) dir="$2"; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "capture_minute: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

root="$(cd "$(dirname "$0")/../.." && pwd)"
if [[ -z "$bin" ]]; then
    bin="$root/target/release/wireforms"
    [[ -x "$bin" ]] || cargo build --release -p wireforms-cli --manifest-path "$root/Cargo.toml"
fi
command -v tcpdump >/dev/null || { echo "capture_minute: tcpdump is not installed" >&2; exit 2; }
[[ "$(id -u)" == 0 ]] || { echo "capture_minute: capturing on lo needs root" >&2; exit 2; }

if [[ -n "$dir" ]]; then
    mkdir -p "$dir"
    keep=1
else
    dir="$(mktemp -d /tmp/wireforms-minute.XXXXXX)"
    keep=0
fi
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    [[ $keep == 1 ]] || rm -rf "$dir"
}
trap cleanup EXIT

# name format transport
servers=(
    "typed typed tcp" "magic magic tcp" "frame frame tcp" "mux mux tcp" "request request tcp"
    "typed-udp typed udp" "magic-udp magic udp" "request-udp request udp"
)

# Hex of n random bytes.
hexbytes() { head -c "$1" /dev/urandom | od -An -v -tx1 | tr -d ' \n'; }

# One batch of messages per client: sizes from empty to several loopback
# segments (TCP), and up to 8000 bytes per datagram (UDP).
make_batch() {
    local format=$1 transport=$2 sizes n=0
    if [[ $transport == tcp ]]; then
        case $format in
            typed|frame) sizes="0 1 5 64 200 1000 1460 4000 16000 65000 100000 300000" ;;
            magic|mux) sizes="0 1 5 64 200 1000 1460 4000 16000 40000 60000" ;;
        esac
    else
        sizes="0 1 5 64 200 1000 1460 4000 8000"
    fi
    if [[ $format == request ]]; then
        local cmds=(ECHO UPPER REVERSE)
        for len in 1 5 64 200 1000 1460 4000 16000 30000; do
            [[ $transport == udp && $len -gt 8000 ]] && continue
            n=$((n + 1))
            echo "$n:${cmds[n % 3]}:$(head -c "$len" /dev/zero | tr '\0' 'x')"
        done
        echo "$((n + 1)):UPPER:straße"
        echo "$((n + 2)):ECHO:"
        return
    fi
    local t=0
    for size in $sizes; do
        t=$((t + 1))
        case $format in
            typed) echo "{\"type\":$t,\"payload\":\"$(hexbytes "$size")\"}" ;;
            magic) echo "{\"version\":1,\"type\":$t,\"payload\":\"$(hexbytes "$size")\"}" ;;
            frame) echo "{\"payload\":\"$(hexbytes "$size")\"}" ;;
            mux) echo "{\"channel\":$t,\"payload\":\"$(hexbytes "$size")\"}" ;;
        esac
    done
}

declare -A addr
filter=()
for s in "${servers[@]}"; do
    read -r name format transport <<<"$s"
    udp=()
    [[ $transport == udp ]] && udp=(--udp)
    # A UDP and a TCP server may get the same port number; one port is
    # one format for the decoder, so such a server is started again.
    for _ in 1 2 3; do
        "$bin" serve --format "$format" "${udp[@]}" --listen 127.0.0.1:0 \
            >"$dir/$name.addr" 2>"$dir/$name.log" &
        pid=$!
        for _ in $(seq 100); do [[ -s "$dir/$name.addr" ]] && break; sleep 0.05; done
        addr[$name]="$(head -1 "$dir/$name.addr")"
        [[ -n "${addr[$name]}" ]] || { echo "capture_minute: $name server did not start" >&2; exit 1; }
        if [[ " ${filter[*]} " == *" port ${addr[$name]##*:} "* ]]; then
            kill "$pid"; wait "$pid" || true
        else
            pids+=("$pid")
            break
        fi
    done
    filter+=("port ${addr[$name]##*:}")
    make_batch "$format" "$transport" >"$dir/$name.batch"
done

pcap="$dir/minute.pcap"
filter_text="$(printf ' or %s' "${filter[@]}")"
tcpdump -i lo -U --immediate-mode -B 65536 -n -s 0 -w "$pcap" "${filter_text# or }" \
    2>"$dir/tcpdump.log" &
tcpdump_pid=$!
pids+=("$tcpdump_pid")
for _ in $(seq 200); do grep -q listening "$dir/tcpdump.log" && break; sleep 0.05; done
grep -q listening "$dir/tcpdump.log" || { cat "$dir/tcpdump.log" >&2; exit 1; }

# Each client connects, sends its batch, reads every reply, closes; again
# until the time is up. It records connections, messages sent, replies.
client() {
    local name=$1 format=$2 transport=$3 until=$4 conns=0 sent=0 replies=0 r
    local per_batch
    per_batch=$(grep -c . "$dir/$name.batch")
    local udp=()
    [[ $transport == udp ]] && udp=(--udp)
    while (($(date +%s%3N) < until)); do
        r=$("$bin" send --format "$format" "${udp[@]}" --target "${addr[$name]}" --json \
            <"$dir/$name.batch" | wc -l)
        conns=$((conns + 1))
        sent=$((sent + per_batch))
        replies=$((replies + r))
        sleep "$pace"
    done
    echo "$conns $sent $replies" >"$dir/$name.sent"
}

echo "capture_minute: $seconds s of traffic, 8 clients (pcap in $dir)" >&2
until=$(($(date +%s%3N) + seconds * 1000))
clients=()
for s in "${servers[@]}"; do
    read -r name format transport <<<"$s"
    client "$name" "$format" "$transport" "$until" &
    clients+=($!)
done
failed=0
for c in "${clients[@]}"; do wait "$c" || failed=1; done
[[ $failed == 0 ]] || { echo "capture_minute: a client failed" >&2; exit 1; }
sleep 1
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" || true
dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$dir/tcpdump.log")

ports=()
declare -A server_of
for s in "${servers[@]}"; do
    read -r name format transport <<<"$s"
    # With its transport: a client's ephemeral port may be another
    # transport's server port.
    ports+=(--port "${addr[$name]##*:}/$transport:$format")
    server_of[${addr[$name]}]=$name
done

# The figures: one decode timed (--count, so output costs nothing) ...
timer=()
[[ -x /usr/bin/time ]] && timer=(/usr/bin/time -v -o "$dir/time.log")
set +e
"${timer[@]}" "$bin" decode --count --pcap "$pcap" "${ports[@]}" \
    >"$dir/count.out" 2>"$dir/decode.log"
status=$?
set -e
touch "$dir/time.log"
# ... and one whose JSON lines are counted per server, transport, direction.
"$bin" decode --json --pcap "$pcap" "${ports[@]}" 2>/dev/null |
    awk -F'"' '{ print $4, $14, $20, $24 }' |
    sort | uniq -c >"$dir/events" || true # its exit status is the timed run's

ok=1
check() { # what expected got
    if [[ "$2" != "$3" ]]; then
        echo "MISMATCH $1: expected $2, decoded $3" >&2
        ok=0
    fi
}
# events lines: COUNT EVENT TRANSPORT SRC DST
decoded() { # name direction
    local a=${addr[$1]} field
    [[ $2 == to-server ]] && field=5 || field=4
    awk -v a="$a" -v f="$field" '$2 == "message" && $f == a { n += $1 } END { print n + 0 }' \
        "$dir/events"
}
total_conns=0 total_sent=0 total_replies=0
printf '%-12s %6s %8s %8s %10s %10s\n' client conns sent replies "decoded>" "decoded<" >&2
for s in "${servers[@]}"; do
    read -r name format transport <<<"$s"
    read -r conns sent replies <"$dir/$name.sent"
    to=$(decoded "$name" to-server)
    from=$(decoded "$name" from-server)
    printf '%-12s %6s %8s %8s %10s %10s\n' "$name" "$conns" "$sent" "$replies" "$to" "$from" >&2
    check "$name requests" "$sent" "$to"
    check "$name replies" "$replies" "$from"
    total_conns=$((total_conns + conns))
    total_sent=$((total_sent + sent))
    total_replies=$((total_replies + replies))
done
other=$(awk '$2 != "message" { n += $1 } END { print n + 0 }' "$dir/events")
check "errors, gaps, skipped, truncated" 0 "$other"
check "decode exit status" 0 "$status"
check "packets dropped by tcpdump" 0 "${dropped:-unknown}"

rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/time.log")
wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/time.log")
echo "traffic: $seconds s, $total_conns client connections/flows, $total_sent messages sent, $total_replies replies"
echo "capture: $(stat -c %s "$pcap") bytes, $(sed -n 's/^\([0-9]*\) packets captured/\1/p' "$dir/tcpdump.log") packets, ${dropped:-?} dropped"
echo "decode --count: $(cat "$dir/count.out")"
echo "decode: $(tail -1 "$dir/decode.log")"
[[ -n "$rss" ]] && echo "decode: ${wall} wall, peak RSS ${rss} KiB"
if [[ $ok == 1 ]]; then
    echo "OK: every message sent and every reply decoded once, 0 errors"
else
    echo "FAILED (files kept in $dir)" >&2
    keep=1
    exit 1
fi
