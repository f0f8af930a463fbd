"""The sandbox's sample app, written the way real apps are: a Python HTTP server that holds a
PostgreSQL connection (psycopg2, Debian's package) for its whole life and ignores SIGTERM, so only
SIGKILL (after `docker stop`'s timeout) ends it.

GET /api/health answers 200 only when the held connection answers `SELECT 1` (reconnecting once when
it was cut, as a connection pool would); SAMPLE_HEALTH=fail makes it a broken build that answers 500,
and SAMPLE_CRASH_AFTER=N one that is healthy for N seconds and then exits.
"""

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2

VERSION = os.environ.get("APP_VERSION", "unknown")
# Like many real servers, this one installs no SIGTERM handler that exits.
signal.signal(signal.SIGTERM, signal.SIG_IGN)


class Database:
    """One connection, opened at start and kept; reopened when the server cut it."""

    def __init__(self, url):
        self.url = url
        self.lock = threading.Lock()
        self.connection = None

    def connect(self):
        self.connection = psycopg2.connect(self.url, connect_timeout=3, application_name="tme-portal")
        self.connection.autocommit = True

    def answers(self):
        # A pool that cannot hand out a working connection in time fails the request rather than hang
        # it: resolving a stopped container's name can take many seconds, which connect_timeout misses.
        result = []

        def work():
            with self.lock:
                result.append(self.query())

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(2.5)
        return bool(result and result[0])

    def query(self):
        for _ in range(2):
            try:
                if self.connection is None or self.connection.closed:
                    self.connect()
                with self.connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                    return cursor.fetchone() == (1,)
            except psycopg2.Error as error:
                log("database: %s" % str(error).strip().splitlines()[0])
                try:
                    if self.connection is not None:
                        self.connection.close()
                except psycopg2.Error:
                    pass
                self.connection = None
        return False


def dumps(value):
    return json.dumps(value, separators=(",", ":"))


def log(line):
    sys.stderr.write("%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), line))
    sys.stderr.flush()


DATABASE = Database(os.environ.get("DATABASE_URL", ""))


class Handler(BaseHTTPRequestHandler):
    # Connections are kept alive between requests, closed after 5 idle seconds (as Node's HTTP server,
    # under Next.js, does by default).
    protocol_version = "HTTP/1.1"
    timeout = 5

    def respond(self, status, content_type, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format, *args):
        pass  # one line per request is written by `route`

    def route(self):
        path = self.path.split("?")[0]
        if path == "/api/health":
            if os.environ.get("SAMPLE_HEALTH") == "fail":
                # Version 3 is broken on purpose; its log shows the kind of error operators grep for.
                log('ERROR: new row for relation "user_todos" violates check constraint "user_todos_category_check"')
                return 500, "application/json", dumps({"status": "error", "reason": "broken build", "version": VERSION})
            if DATABASE.answers():
                return 200, "application/json", dumps({"status": "ok", "database": "ok", "version": VERSION})
            return 503, "application/json", dumps({"status": "error", "database": "unreachable", "version": VERSION})
        if path in ("/", "/index.html"):
            body = "<html><body><h1>tme-portal</h1><p>sandbox app %s</p></body></html>" % VERSION
            return 200, "text/html", body
        if path == "/api/status":
            return 200, "application/json", dumps({"status": "ok", "app": "tme-portal", "version": VERSION})
        if path == "/api/version":
            return 200, "application/json", dumps({"version": VERSION})
        if path == "/api/slow":
            # A request that takes a while (a report, an export): ?ms= how long, at most 30 s.
            query = dict(part.split("=", 1) for part in self.path.partition("?")[2].split("&") if "=" in part)
            try:
                milliseconds = min(max(int(query.get("ms", "1000")), 0), 30000)
            except ValueError:
                return 400, "text/plain", "ms must be a whole number of milliseconds"
            time.sleep(milliseconds / 1000)
            return 200, "application/json", dumps({"slept_ms": milliseconds, "version": VERSION})
        return 404, "text/plain", "not found: %s" % path

    def handle_request(self):
        status, content_type, body = self.route()
        self.respond(status, content_type, body)
        log("%s %s %d" % (self.command, self.path, status))

    do_GET = handle_request
    do_HEAD = handle_request


def main():
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "3000"))), Handler)
    server.daemon_threads = True
    log("tme-portal %s listening on :%d" % (VERSION, server.server_address[1]))
    # The app opens its connection at start and holds it (the first health check waits for it).
    threading.Thread(target=DATABASE.answers, daemon=True).start()
    crash_after = os.environ.get("SAMPLE_CRASH_AFTER")
    if crash_after:
        # A broken build of another kind: healthy at first, then it dies (as a leak or a bad cron would).
        threading.Thread(target=crash, args=(float(crash_after),), daemon=True).start()
    server.serve_forever()


def crash(seconds):
    time.sleep(seconds)
    log("FATAL: worker pool exhausted after %.0f s (SAMPLE_CRASH_AFTER); exiting" % seconds)
    os._exit(1)


if __name__ == "__main__":
    main()
