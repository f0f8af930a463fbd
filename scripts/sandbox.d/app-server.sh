#!/bin/sh
# The sandbox's sample app: one HTTP request per run (busybox nc -ll -e forks one per connection).
# GET /api/health answers 200 only when PostgreSQL answers a protocol-level SSLRequest.
read -r method path _
while read -r header; do
    header=$(printf '%s' "$header" | tr -d '\r')
    [ -z "$header" ] && break
done

respond() {
    printf 'HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
        "$1" "$2" "$(printf '%s' "$3" | wc -c)" "$3"
    # One access-log line per request on stderr: the container's log, which `tmeops logs` reads.
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $method $path ${1%% *}" >&2
}

database_answers() {
    hostport=${DATABASE_URL#*@}
    hostport=${hostport%%/*}
    host=${hostport%%:*}
    port=${hostport#*:}
    [ "$port" = "$hostport" ] && port=5432
    # SSLRequest (length 8, code 80877103); a live server answers 'S' or 'N'.
    reply=$(printf '\000\000\000\010\004\322\026\057' | timeout 3 nc -w 2 "$host" "$port" 2>/dev/null | head -c 1)
    [ "$reply" = "N" ] || [ "$reply" = "S" ]
}

case "$method $path" in
"GET /api/health" | "HEAD /api/health")
    if [ "${SAMPLE_HEALTH:-}" = "fail" ]; then
        # Version 3 of the sample app is broken on purpose: deploys must refuse it and roll back. Its log
        # shows the kind of error the runbook's Phase 5 greps for.
        echo 'ERROR: new row for relation "user_todos" violates check constraint "user_todos_category_check"' >&2
        respond "500 Internal Server Error" "application/json" "{\"status\":\"error\",\"reason\":\"broken build\",\"version\":\"${APP_VERSION:-unknown}\"}"
    elif database_answers; then
        respond "200 OK" "application/json" "{\"status\":\"ok\",\"database\":\"ok\",\"version\":\"${APP_VERSION:-unknown}\"}"
    else
        respond "503 Service Unavailable" "application/json" "{\"status\":\"error\",\"database\":\"unreachable\",\"version\":\"${APP_VERSION:-unknown}\"}"
    fi
    ;;
"GET /" | "GET /index.html")
    respond "200 OK" "text/html" "<html><body><h1>tme-portal</h1><p>sandbox app ${APP_VERSION:-unknown}</p></body></html>"
    ;;
"GET /api/status")
    respond "200 OK" "application/json" "{\"status\":\"ok\",\"app\":\"tme-portal\",\"version\":\"${APP_VERSION:-unknown}\"}"
    ;;
"GET /api/version")
    respond "200 OK" "application/json" "{\"version\":\"${APP_VERSION:-unknown}\"}"
    ;;
*)
    respond "404 Not Found" "text/plain" "not found: $path"
    ;;
esac
