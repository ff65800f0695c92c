#!/usr/bin/env bash
# schemathesis against a real `kadende server`: every operation of /v1/openapi.json, as an admin, checked for 5xx
# answers and answers that break the documented schema, operation by operation and then along the document's links
# (create a cluster, then read, set a quota on and delete it; create a group, then scale it, push to it, read its
# nodes...). Bounded: 40 examples an operation, 70 s a request. Left out:
# token revocation (fuzzing it revokes the admin's own token) and the events long poll and stream (fuzzed waits of up
# to 60 s each on an idle coordinator; both are tested end to end).
# Loopback only. Usage: scripts/lib/schemathesis.sh BIN_DIR SCHEMATHESIS
set -euo pipefail
bin="$1" st="$2"
work="$(mktemp -d /tmp/kadende-schemathesis-XXXXXX)"
token="$("$bin/kadende" user create admin --admin --data-dir "$work/data" --generate-password --print-token | sed -n 's/^token: //p')"
"$bin/kadende" server --data-dir "$work/data" --listen-http 127.0.0.1:0 --listen-agents 127.0.0.1:0 \
  --agent-path "$bin/kadende-agent" --artifact-port off --local-provider process >"$work/out" 2>"$work/server.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 150); do [ -f "$work/data/coordinator.json" ] && break; sleep 0.2; done
port="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['httpPort'])" "$work/data/coordinator.json")"
# From the work folder: schemathesis keeps a cache in the current directory.
cd "$work"
if "$st" run "http://127.0.0.1:$port/v1/openapi.json" -H "Authorization: Bearer $token" \
    --checks not_a_server_error,response_schema_conformance --max-examples 40 --request-timeout 70 \
    --phases examples,coverage,fuzzing,stateful \
    --exclude-path /v1/events/stream --exclude-path /v1/events --exclude-path '/v1/tokens/{id}' --seed 1 >"$work/report.txt" 2>&1; then
  grep -E "generated|passed|Stateful|Examples|Coverage|Fuzzing|links|transitions" "$work/report.txt" | tail -12
  echo "check passed: schemathesis found no 5xx and no answer that breaks /v1/openapi.json"
else
  cat "$work/report.txt"
  echo "schemathesis failed (report above)"
  exit 1
fi
