// GENERATED FILE. DO NOT EDIT! Regenerate with `make generate` (tmeops plugin generate).
// Every file under Templates/, compiled in so that an installed binary needs no folder beside it.
// swift-format-ignore-file

extension Templates {
    static let embedded: [String: String] = [
        "backup/tmeops-backup.service": ####"""
# tmeops scheduled backup of {{app}} ({{environment}}); installed by `tmeops backup schedule`.
[Unit]
Description=tmeops backup of {{app}} ({{environment}})

[Service]
Type=oneshot
ExecStart="{{script}}"

"""####,
        "backup/tmeops-backup.sh": ####"""
#!/bin/sh
# tmeops scheduled backup of {{app}} ({{environment}}), installed by `tmeops backup schedule`.
# It writes what `tmeops backup create` writes: <id>.dump (0600) and <id>.json beside it, through .part
# files renamed into place, then applies the same keep rules (restic's: last / daily / ISO-weekly /
# monthly, OR'ed; never the newest verified backup or one a release pins). It logs to scheduled.log.
set -u
CONTAINER={{container}}
DB_USER={{db_user}}
DB_NAME={{db_name}}
ENVIRONMENT={{environment_quoted}}
DB_PORT={{db_port}}
DIR={{dir}}
KEEP_LAST={{keep_last}}
KEEP_DAILY={{keep_daily}}
KEEP_WEEKLY={{keep_weekly}}
KEEP_MONTHLY={{keep_monthly}}
DOCKER_HOST={{docker_host}}
export DOCKER_HOST
umask 077
mkdir -p "$DIR/pins" || exit 1
LOG="$DIR/scheduled.log"
log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >> "$LOG"; }

started=$(date -u +%s)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
id="$(date -u +%Y%m%d-%H%M%S)-scheduled"
file="$id.dump"
socket_script='for d in /var/run/postgresql /tmp; do if [ -S "$d/.s.PGSQL.$3" ]; then export PGHOST="$d"; fi; done; export PGPORT="$3"; exec pg_dump -Fc -U "$1" -d "$2"'
if ! docker exec "$CONTAINER" sh -c "$socket_script" tmeops "$DB_USER" "$DB_NAME" "$DB_PORT" > "$DIR/$file.part" 2> "$DIR/$id.err"; then
    log "FAILED $id: pg_dump: $(tr '\n' ' ' < "$DIR/$id.err")"
    rm -f "$DIR/$file.part" "$DIR/$id.err"
    exit 1
fi
rm -f "$DIR/$id.err"
size=$(wc -c < "$DIR/$file.part" | tr -d ' ')
sha=$(sha256sum "$DIR/$file.part" | cut -c1-64)
version=$(docker exec "$CONTAINER" sh -c 'for d in /var/run/postgresql /tmp; do [ -S "$d/.s.PGSQL.$3" ] && export PGHOST="$d"; done; export PGPORT="$3"; psql -X -tA -U "$1" -d "$2" -c "SHOW server_version_num"' tmeops "$DB_USER" "$DB_NAME" "$DB_PORT" 2>/dev/null | tr -d ' \n')
duration=$(( ($(date -u +%s) - started) * 1000 ))
printf '{\n  "compression" : null,\n  "created_at" : "%s",\n  "database" : "%s",\n  "duration_ms" : %s,\n  "environment" : "%s",\n  "file" : "%s",\n  "format" : "custom",\n  "id" : "%s",\n  "label" : "scheduled",\n  "schema_hash" : null,\n  "server_version" : %s,\n  "sha256" : "%s",\n  "size" : %s,\n  "source" : "scheduled job",\n  "table_rows" : {\n\n  },\n  "tmeops_version" : "{{tmeops_version}}"\n}\n' \
    "$created" "$DB_NAME" "$duration" "$ENVIRONMENT" "$file" "$id" "${version:-0}" "$sha" "$size" > "$DIR/$id.json.part"
if ! mv -f "$DIR/$file.part" "$DIR/$file" || ! mv -f "$DIR/$id.json.part" "$DIR/$id.json"; then
    log "FAILED $id: could not move the files into place"
    rm -f "$DIR/$file.part" "$DIR/$id.json.part"
    exit 1
fi
log "created $id ($size bytes, sha256 $sha)"

# Retention: one line per backup (newest first): id created verified pinned.
list=$(for meta in "$DIR"/*.json; do
    [ -f "$meta" ] || continue
    bid=$(basename "$meta" .json)
    # Only this environment's backups: another may share the folder (staging beside production). A
    # backup from before the environment was recorded is its database's.
    db=$(sed -n 's/^  "database" : "\([^"]*\)".*/\1/p' "$meta")
    env=$(sed -n 's/^  "environment" : "\([^"]*\)".*/\1/p' "$meta")
    [ "$db" = "$DB_NAME" ] || continue
    [ -z "$env" ] || [ "$env" = "$ENVIRONMENT" ] || continue
    at=$(sed -n 's/^  "created_at" : "\([^"]*\)".*/\1/p' "$meta")
    verified=no
    grep -q '"ok" : true' "$meta" && verified=yes
    pinned=no
    [ -f "$DIR/pins/$bid" ] && pinned=yes
    day=$(date -u -d "$at" +%Y-%m-%d 2>/dev/null || echo unknown)
    week=$(date -u -d "$at" +%G-W%V 2>/dev/null || echo unknown)
    month=$(date -u -d "$at" +%Y-%m 2>/dev/null || echo unknown)
    echo "$at $bid $verified $pinned $day $week $month"
done | sort -r)
keep=$(printf '%s\n' "$list" | awk -v last="$KEEP_LAST" -v daily="$KEEP_DAILY" -v weekly="$KEEP_WEEKLY" -v monthly="$KEEP_MONTHLY" '
    NF < 7 { next }
    { n++; keep = 0
      if (n <= last) keep = 1
      if ($5 != "unknown" && !($5 in d) && nd < daily) { d[$5] = 1; nd++; keep = 1 }
      if ($6 != "unknown" && !($6 in w) && nw < weekly) { w[$6] = 1; nw++; keep = 1 }
      if ($7 != "unknown" && !($7 in m) && nm < monthly) { m[$7] = 1; nm++; keep = 1 }
      if ($5 in d) d[$5] = 1; if ($6 in w) w[$6] = 1; if ($7 in m) m[$7] = 1
      if ($3 == "yes" && !verified) { verified = 1; keep = 1 }
      if ($4 == "yes" || $5 == "unknown") keep = 1
      if (!keep) print $2 }')
for bid in $keep; do
    meta="$DIR/$bid.json"
    data=$(sed -n 's/^  "file" : "\([^"]*\)".*/\1/p' "$meta")
    rm -f "$meta" && [ -n "$data" ] && rm -f "$DIR/$data"
    log "pruned $bid"
done
exit 0

"""####,
        "backup/tmeops-backup.timer": ####"""
# tmeops scheduled backup of {{app}} ({{environment}}); installed by `tmeops backup schedule`.
[Unit]
Description=tmeops backup of {{app}} ({{environment}}) at {{at}}

[Timer]
OnCalendar={{on_calendar}}
Persistent=true

[Install]
WantedBy=timers.target

"""####,
        "migration.sql": ####"""
-- {{file}}: {{name}}
-- Applied by `tmeops migrate apply` in one transaction, after `tmeops migrate test` has proven it on a
-- copy of the database. Add `-- tmeops:no-transaction` on its own line for statements that cannot run
-- in a transaction (CREATE INDEX CONCURRENTLY).


"""####,
        "plugin/Plugin.swift.template": ####"""
import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsHosts

/// {{summary}}
public enum {{type}}: Plugin {
    public static let description = PluginDescription(
        id: "{{id}}",
        summary: "{{summary}}",
        examples: [
            PluginExample("tmeops {{id}} greet --name ops", "Say hello; replace this with the team's own commands."),
            PluginExample("tmeops {{id}} uptime -e production", "Run a command on each of the environment's hosts."),
        ])

    public static let commands: [any ParsableCommand.Type] = [{{name}}Command.self]
}

/// `tmeops {{id}}`: the plugin's command group.
public struct {{name}}Command: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "{{id}}",
        abstract: "{{summary}}",
        subcommands: [{{name}}GreetCommand.self, {{name}}UptimeCommand.self])

    public init() {}
}

/// `tmeops {{id}} greet`: an example command. It is handed a context with the config, logger and output.
public struct {{name}}GreetCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "greet",
        abstract: "Print a greeting (an example to replace).",
        discussion: "Examples:\n  tmeops {{id}} greet --name ops")

    @OptionGroup public var globals: GlobalOptions

    @Option(help: "Who to greet.")
    public var name = "world"

    public init() {}

    public func run(_ context: CommandContext) async throws {
        context.logger.debug("greeting", metadata: ["name": "\(name)"])
        context.output.line("Hello, \(name), from the {{id}} plugin.")
    }
}

/// `tmeops {{id}} uptime -e ENV`: runs a command on each of an environment's hosts. `context.hosts`
/// hands out the same host values the built-in plugins use: each host's SSH session (host key checked,
/// opened once per command and closed when it ends), its Docker engine (`host.engine()`) and its
/// remote state (`host.state(app:)`).
public struct {{name}}UptimeCommand: TMEOpsCommand {
    public static let configuration = CommandConfiguration(
        commandName: "uptime",
        abstract: "Print each host's uptime (an example of reaching an environment's hosts).",
        discussion: "Examples:\n  tmeops {{id}} uptime -e production")

    @OptionGroup public var globals: GlobalOptions

    public init() {}

    public func run(_ context: CommandContext) async throws {
        let (_, environment) = try context.loadEnvironment()
        let hosts = try context.hosts(environment)
        guard !hosts.isEmpty else {
            throw TMEOpsError.usage("environment '\(environment.name)' has no ssh section, so it has no host to reach")
        }
        for host in hosts {
            // A remote command is an argv, quoted for the host's shell by tmeops, never a built string.
            let result = try await runBlocking("uptime on \(host.name)") { try host.session().capture(["uptime"]) }
            context.output.line("\(host.name): \(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}

"""####,
        "plugin/PluginTests.swift.template": ####"""
import TMEOpsCore
import TMEOpsTestSupport
import XCTest

@testable import {{type}}

final class {{type}}Tests: XCTestCase {
    func testDescribesItself() {
        XCTAssertEqual({{type}}.description.id, "{{id}}")
        XCTAssertFalse({{type}}.description.examples.isEmpty)
    }

    func testGreetPrintsTheName() async throws {
        let harness = try TestHarness(registering: [{{type}}.self])
        let command = try {{name}}GreetCommand.parse(["--name", "ops"])
        try await command.run(harness.context)
        XCTAssertEqual(harness.stdout.text, "Hello, ops, from the {{id}} plugin.\n")
    }

    func testUptimeNeedsAnEnvironmentWithHosts() async throws {
        let harness = try TestHarness(registering: [{{type}}.self], arguments: ["-e", "local"])
        try harness.write("tmeops.yml", "app: demo\nimage: demo\nenvironments:\n  local: {}\n")
        let outcome = await harness.outcome(try {{name}}UptimeCommand.parse(["-e", "local"]))
        XCTAssertEqual(outcome.status, 2)
        XCTAssertTrue(outcome.error.contains("no ssh section"), outcome.error)
    }
}

"""####,
        "plugin/plugin.yml.template": ####"""
# A compiled-in tmeops team plugin. `make generate` registers every Plugins/*/plugin.yml.
id: {{id}}
name: {{name}}

"""####,
        "tmeops.yml": ####"""
# tmeops configuration. Reference: README.md, "Configuration".
# ${VAR} comes from the environment or from .tmeops/secrets.env (KEY=value lines, never committed).
# secrets:
#   command: sops -d secrets.enc.env     # or a password manager's CLI: KEY=value lines, held in memory only
app: {{app}}                     # used in labels, lock and ledger names
image: {{image}}                 # image repository name

build:
  context: .
  dockerfile: Dockerfile
  platform: linux/amd64
  args: { NODE_ENV: production }
  require: [".next/standalone"]          # paths that must exist in the image (relative: under its WORKDIR)
  forbid: ["**/*turbopack*"]             # globs that must not appear in the image
  # command: docker buildx build --load -t "$TMEOPS_IMAGE_REF" .   # your own build (BuildKit), then verified

migrations:
  dir: database/migrations               # NNN_name.sql files

environments:
  development:
    database:
      url: postgresql://app_user:${DEV_DB_PASSWORD}@127.0.0.1:5432/{{app}}

  production:
    ssh:
      host: server.example.com
      # hosts: [app1.example.com, app2.example.com]   # several servers, instead of host
      port: 22
      user: deploy
      identity: ~/.ssh/id_ed25519        # ed25519, ECDSA or RSA; unset: the agent, then ~/.ssh/id_*
      known_hosts: ~/.ssh/known_hosts
      # proxy_jump: deploy@bastion.example.com   # reach the servers through a bastion (its host key checked too)
      host_key_policy: strict            # strict | accept-new
    docker:
      socket: /var/run/docker.sock       # on the remote host
    app:
      container: {{app}}-app-1
      network: {{app}}_network
      publish: ["80:3000"]
      env_file: /home/deploy/.env        # path on the remote host
      env: { NODE_ENV: production }
    test_instance:
      publish: ["3001:3000"]
      database: {{app}}_test
    health:
      path: /api/health
      port: 3000
      attempts: 30
      interval: 2s
      expect_status: 200
    database:
      # host: app1.example.com           # with several hosts: the one running the database (default: the first)
      container: {{app}}-postgres-1
      user: app_user
      name: {{app}}
      password: ${TMEOPS_DB_PASSWORD}
    backups:
      dir: /home/deploy/backups
      keep_last: 4
      keep_daily: 7
      keep_weekly: 4
      keep_monthly: 0
    validate:
      log_errors: ["constraint", "error"]
      smoke:
        - { name: home page, path: /, status: 200 }
    deploy:
      strategy: replace                  # replace | proxy
      keep_releases: 5
      lock_ttl: 30m
      # batch: 1                         # with several hosts: servers swapped at a time (a number or "34%")
      # batch_wait: 30s                  # pause after a batch; unset, 11 s where ports closed (nginx, HAProxy)

"""####,
    ]
}
