import Foundation
import TMEOpsCore
import TMEOpsPostgres

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
        var admin = try session.administration(avoiding: copy)
        try drop(admin, copy)
        // With anyone connected, CREATE DATABASE … TEMPLATE waits 5 s and fails ("being accessed by other
        // users"), so ask first (the session's own connection does not count: it is closed for the copy);
        // it can still lose a race, and then the dump below runs.
        let others = try admin.query(
            "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()", [source]
        ).scalar
        if others == "0" {
            if session.target.database == source { session.connection.close() }
            admin = try session.administration(avoiding: source)
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
                        """, arguments: [user, source, copy], what: "copying \(source) to \(copy)", output: false)
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
        let admin = try session.administration(avoiding: name)
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
        let admin = try session.administration(avoiding: name)
        try drop(admin, name)
        try admin.execute("CREATE DATABASE \(try admin.quoteIdentifier(name)) TEMPLATE template0")
    }

    public static func drop(_ session: DatabaseSession, _ name: String) throws {
        try refuseToReplace(name, session: session, doing: "leave it dropped")
        try drop(try session.administration(avoiding: name), name)
    }

    static func drop(_ admin: PostgresConnection, _ name: String) throws {
        let force = admin.serverVersion >= 130000 ? " WITH (FORCE)" : ""
        try admin.execute("DROP DATABASE IF EXISTS \(try admin.quoteIdentifier(name))\(force)")
    }
}
