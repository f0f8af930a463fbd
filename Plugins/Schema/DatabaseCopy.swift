import Foundation
import ImagePlugin
import TMEOpsCore
import TMEOpsPostgres

/// PostgreSQL's own client programs run where the database is: inside its container through the Docker
/// exec API (over the container's local socket, so no password travels), or on this machine for a URL
/// (the password in the child's environment, never its arguments).
public enum PostgresTools {
    /// A `sh -c` prelude that finds the server's socket folder (it differs between images) and exports
    /// PGHOST/PGPORT; the script's own arguments stay positional ($1, $2, ...), never spliced into it.
    public static func containerScript(port: Int, _ body: String) -> String {
        """
        for d in /var/run/postgresql /tmp; do if [ -S "$d/.s.PGSQL.\(port)" ]; then PGHOST="$d"; break; fi; done
        [ -n "$PGHOST" ] || { echo 'no PostgreSQL socket in /var/run/postgresql or /tmp' >&2; exit 2; }
        export PGHOST PGPORT=\(port)
        \(body)
        """
    }

    /// Runs `script` (with positional `arguments`) in the environment's database container.
    public static func execInContainer(
        _ environment: EnvironmentConfig, context: CommandContext, script: String, arguments: [String], what: String
    ) throws -> Data {
        let database = try environment.require(DatabaseConfig.self, for: "reaching its database")
        guard case .container(let container, _, _) = try database.location(environment: environment.name) else {
            throw TMEOpsError("environment '\(environment.name)' has a database URL, not a container")
        }
        let (engine, session) = try DockerEngines.remote(environment, context: context)
        defer { session.close() }
        let result = try engine.exec(container, ["sh", "-c", containerScript(port: database.port, script), "tmeops"] + arguments)
        guard result.exitCode == 0 else {
            throw TMEOpsError(
                "\(what) in \(container) on \(environment.name) failed (exit \(result.exitCode)): \(String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
        return result.stdout
    }

    /// The environment a local PostgreSQL client program runs with: the password as PGPASSWORD (never in
    /// its arguments), and PGHOST/PGPORT/PGUSER for programs given no connection flags.
    static func clientEnvironment(_ target: PostgresTarget?, context: CommandContext) -> [String: String] {
        var environment = context.environment
        if let target {
            if let password = target.password { context.redactor.add(password) }
            environment["PGPASSWORD"] = target.password
            environment["PGCONNECT_TIMEOUT"] = String(target.connectTimeout)
            environment["PGHOST"] = target.host
            environment["PGPORT"] = String(target.port)
            environment["PGUSER"] = target.user
            // The URL's own connection parameters, as libpq's environment variables.
            for (key, value) in target.parameters {
                environment[key == "application_name" ? "PGAPPNAME" : key == "options" ? "PGOPTIONS" : "PG" + key.uppercased()] = value
            }
        }
        return environment
    }

    static func start(_ program: String, _ arguments: [String], environment: [String: String], onStdout: ((Data) throws -> Void)? = nil) throws
        -> LocalProcess.Result
    {
        do {
            return try LocalProcess.run([program] + arguments, environment: environment, onStdout: onStdout)
        } catch let error as CocoaError where error.code == .fileNoSuchFile || error.code == .executableNotLoadable {
            throw TMEOpsError("cannot run \(program): \(error); install the PostgreSQL client (apt-get install postgresql-client)")
        }
    }

    /// Runs a local PostgreSQL client program against `target` (host, port and user as flags unless
    /// `connectionFlags` is false) and returns its output; a failure carries its standard error.
    public static func runLocal(
        _ program: String, _ arguments: [String], target: PostgresTarget?, context: CommandContext, connectionFlags: Bool = true
    ) throws -> Data {
        let flags = connectionFlags ? (target.map { ["-h", $0.host, "-p", String($0.port), "-U", $0.user] } ?? []) : []
        let result = try start(program, flags + arguments, environment: clientEnvironment(target, context: context))
        guard result.status == 0 && !result.signaled else {
            throw TMEOpsError(
                "\(program)\(target.map { " for \($0.description)" } ?? "") failed: \(String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
        return result.stdout
    }
}

extension PostgresTools {
    /// Runs a local PostgreSQL client program against `target`, handing its standard output over as it
    /// arrives (a pg_dump of any size in constant memory); returns its exit status and standard error.
    public static func streamLocal(
        _ program: String, _ arguments: [String], target: PostgresTarget, context: CommandContext, onStdout: (Data) throws -> Void
    ) throws -> (status: Int, stderr: Data) {
        let flags = ["-h", target.host, "-p", String(target.port), "-U", target.user]
        let result = try withoutActuallyEscaping(onStdout) { handler in
            try start(program, flags + arguments, environment: clientEnvironment(target, context: context), onStdout: handler)
        }
        return (Int(result.status), result.stderr)
    }
}

/// Copies of a database on its own server: staging copies for `migrate test`, scratch databases for
/// `migrate adopt` and `schema plan`.
public enum DatabaseCopy {
    /// Makes `copy` a copy of `source` (schema and data): `CREATE DATABASE … TEMPLATE` when nobody is
    /// connected to the source, else pg_dump | pg_restore where the database runs. Returns how.
    @discardableResult
    public static func copy(
        _ session: DatabaseSession, environment: EnvironmentConfig, context: CommandContext, source: String, copy: String
    ) throws -> String {
        // The copy's name is dropped first: it must never be the database copied, nor the one this
        // environment runs on (a typo in test_instance.database or --copy-name would drop production).
        try refuseToReplace(copy, session: session, doing: "copy \(source) onto it", source: source)
        let admin = try session.connect(database: "postgres")
        defer { admin.close() }
        try drop(admin, copy)
        // With anyone connected, CREATE DATABASE … TEMPLATE waits 5 s and fails ("being accessed by other
        // users"), so ask first; it can still lose a race, and then the dump below runs.
        let others = try admin.query("SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE datname = $1", [source]).scalar
        if others == "0" {
            do {
                try admin.execute("CREATE DATABASE \(try admin.quoteIdentifier(copy)) TEMPLATE \(try admin.quoteIdentifier(source))")
                return "CREATE DATABASE … TEMPLATE"
            } catch let error as PostgresError where error.sqlState == "55006" {}
        }
        try admin.execute("CREATE DATABASE \(try admin.quoteIdentifier(copy))")
        do {
            let database = try environment.require(DatabaseConfig.self, for: "reaching its database")
            switch try database.location(environment: environment.name) {
            case .container(_, let user, _):
                try PostgresTools.execInContainer(
                    environment, context: context,
                    script: """
                        umask 077; f=$(mktemp) || exit 1; trap 'rm -f "$f"' EXIT
                        pg_dump -Fc -U "$1" -d "$2" -f "$f" && pg_restore --exit-on-error --no-owner -U "$1" -d "$3" "$f"
                        """, arguments: [user, source, copy], what: "copying \(source) to \(copy)")
            case .url(let url):
                let target = try PostgresTarget(url: url)
                // A dump is the database's data: in a folder only this user can read (pg_dump's file follows the umask).
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tmeops-copy-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                defer { try? FileManager.default.removeItem(at: folder) }
                let file = folder.appendingPathComponent("copy.dump")
                _ = try PostgresTools.runLocal("pg_dump", ["-Fc", "-d", source, "-f", file.path], target: target, context: context)
                _ = try PostgresTools.runLocal(
                    "pg_restore", ["--exit-on-error", "--no-owner", "-d", copy, file.path], target: target, context: context)
            }
        } catch {
            try? drop(admin, copy)
            throw error
        }
        return "pg_dump | pg_restore"
    }

    /// Other sessions connected to `database`, as "application (address, state)" for messages.
    public static func otherSessions(_ admin: PostgresConnection, _ database: String) throws -> [String] {
        try admin.query(
            """
            SELECT coalesce(nullif(application_name, ''), 'unnamed') || ' (' || coalesce(client_addr::text, 'local') || ', ' || coalesce(state, '?') || ', pid ' || pid || ')'
            FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid() ORDER BY pid
            """, [database]
        ).rows.compactMap { $0[0] }
    }

    /// Puts `staging` in the place of `name`, keeping the old one as `previous` (an older `previous` is
    /// dropped). Sessions on `name` are refused by name unless `terminate`; then they are ended. The
    /// swap is two renames; if the second fails the first is undone, so `name` always exists.
    public static func swapIn(_ session: DatabaseSession, name: String, staging: String, previous: String, terminate: Bool) throws {
        if session.target.database == name { session.connection.close() }
        let admin = try session.connect(database: "postgres")
        defer { admin.close() }
        let others = try otherSessions(admin, name)
        if !others.isEmpty && !terminate {
            throw SchemaError(
                "database \(name) is in use by \(others.count) other session\(others.count == 1 ? "" : "s"): \(others.joined(separator: "; ")); stop them, or pass --force to end them"
            )
        }
        let (q, qs, qp) = (try admin.quoteIdentifier(name), try admin.quoteIdentifier(staging), try admin.quoteIdentifier(previous))
        try drop(admin, previous)
        try admin.execute("ALTER DATABASE \(q) WITH ALLOW_CONNECTIONS false")
        do {
            try admin.query(
                "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()", [name]
            )
            try admin.execute("ALTER DATABASE \(q) RENAME TO \(qp)")
        } catch {
            _ = try? admin.execute("ALTER DATABASE \(q) WITH ALLOW_CONNECTIONS true")
            throw SchemaError("could not take \(name) out of service for the swap, so it was left as it was: \(error)")
        }
        do {
            try admin.execute("ALTER DATABASE \(qs) RENAME TO \(q)")
        } catch {
            _ = try? admin.execute("ALTER DATABASE \(qp) RENAME TO \(q)")
            _ = try? admin.execute("ALTER DATABASE \(q) WITH ALLOW_CONNECTIONS true")
            throw SchemaError("the swap of \(staging) into \(name) failed, so \(name) was put back: \(error)")
        }
        _ = try? admin.execute("ALTER DATABASE \(qp) WITH ALLOW_CONNECTIONS true")
    }

    /// Refuses when `name` is the environment's own database (or `source`): what is about to be dropped or
    /// replaced there would be production's data.
    static func refuseToReplace(_ name: String, session: DatabaseSession, doing what: String, source: String? = nil) throws {
        if name == session.target.database || name == source {
            throw SchemaError(
                "refusing to drop and \(what): \(name) is \(name == session.target.database ? "the database this environment runs on" : "the database being copied"); choose another name for the copy (test_instance.database, --copy-name)"
            )
        }
    }

    /// Creates an empty scratch database (dropping an older one of that name).
    public static func createEmpty(_ session: DatabaseSession, _ name: String) throws {
        try refuseToReplace(name, session: session, doing: "create an empty database in its place")
        let admin = try session.connect(database: "postgres")
        defer { admin.close() }
        try drop(admin, name)
        try admin.execute("CREATE DATABASE \(try admin.quoteIdentifier(name)) TEMPLATE template0")
    }

    public static func drop(_ session: DatabaseSession, _ name: String) throws {
        try refuseToReplace(name, session: session, doing: "leave it dropped")
        let admin = try session.connect(database: "postgres")
        defer { admin.close() }
        try drop(admin, name)
    }

    static func drop(_ admin: PostgresConnection, _ name: String) throws {
        let force = admin.serverVersion >= 130000 ? " WITH (FORCE)" : ""
        try admin.execute("DROP DATABASE IF EXISTS \(try admin.quoteIdentifier(name))\(force)")
    }
}
