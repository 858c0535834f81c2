#!/bin/bash
# Wall time of one `rearguard check` round: 100 checks at timeout 2s, 50 of them against a UDP
# port on loopback that never answers (25 DNS + 25 NTP), 50 against a real dnsmasq (25 DNS + 25 TCP).
# Prints the figure; asserts nothing. Needs: dnsmasq, python3 (scripts/deps installs them).
#   scripts/bench-checks.sh [RUNS] [BINARY]     (default 5 runs, .build/debug/rearguard)
# Traffic stays on 127.0.0.1.
set -euo pipefail
RUNS=${1:-5}
BIN=${2:-$(cd "$(dirname "$0")/.." && pwd)/.build/debug/rearguard}
[ -x "$BIN" ] || { echo "no $BIN: run swift build first" >&2; exit 2; }
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || { echo "dnsmasq missing: apt-get install dnsmasq" >&2; exit 2; }
DIR=$(mktemp -d /tmp/rearguard-bench.XXXXXX)
DNS_PORT=$((10000 + RANDOM % 20000))
SILENT_PORT=$((DNS_PORT + 1))
cleanup() { kill "$DNSMASQ_PID" "$SILENT_PID" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
/usr/sbin/dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --listen-address=127.0.0.1 \
  --bind-interfaces --port="$DNS_PORT" --pid-file= --user=root --local=/agenttest.lan/ \
  --host-record=gw.agenttest.lan,10.213.0.1 2>"$DIR/dnsmasq.log" &
DNSMASQ_PID=$!
python3 -c "import socket,sys,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('127.0.0.1',$SILENT_PORT)); time.sleep(3600)" &
SILENT_PID=$!
mkdir "$DIR/conf"
for i in $(seq 1 25); do cat >>"$DIR/conf/10-bench.toml" <<EOT
[[check]]
name = "dns-good-$i"
kind = "dns"
server = "127.0.0.1:$DNS_PORT"
query = "gw.agenttest.lan"
[[check]]
name = "tcp-good-$i"
kind = "tcp"
address = "127.0.0.1:$DNS_PORT"
[[check]]
name = "dns-silent-$i"
kind = "dns"
server = "127.0.0.1:$SILENT_PORT"
query = "gw.agenttest.lan"
[[check]]
name = "ntp-silent-$i"
kind = "ntp"
server = "127.0.0.1:$SILENT_PORT"
EOT
done
sleep 0.5
for r in $(seq 1 "$RUNS"); do
  t0=$(date +%s.%N)
  "$BIN" check --json --config-dir "$DIR/conf" >"$DIR/out.json" || true
  t1=$(date +%s.%N)
  python3 - "$DIR/out.json" "$t0" "$t1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
passed = sum(1 for x in r if x["status"] == "pass")
timeouts = sum(1 for x in r if x["message"] == "timeout")
slowest = max(x["latency_ms"] for x in r)
print(f"round of {len(r)} checks: process wall {float(sys.argv[3]) - float(sys.argv[2]):.3f} s, "
      f"slowest check {slowest / 1000:.3f} s, {passed} pass, {timeouts} timeout")
PY
done
