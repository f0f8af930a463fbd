import Foundation
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

    /// Runs `script` (with positional `arguments`) in the environment's database container; returns its
    /// standard output, or with `output: false` discards it and runs the script detached (see
    /// `DockerEngine.execDetached`: the engine's connection is kept for the next request).
    @discardableResult
    public static func execInContainer(
        _ environment: EnvironmentConfig, context: CommandContext, script: String, arguments: [String], what: String, output: Bool = true
    ) throws -> Data {
        let database = try environment.require(DatabaseConfig.self, for: "reaching its database")
        guard case .container(let container, _, _) = try database.location(environment: environment.name) else {
            throw TMEOpsError("environment '\(environment.name)' has a database URL, not a container")
        }
        // The command's engine on the database host (one SSH session per host per command, shared), or
        // this machine's for a local environment.
        let engine = try context.databaseHost(environment)?.engine() ?? DockerEngines.local(context)
        let argv = ["sh", "-c", containerScript(port: database.port, script), "tmeops"] + arguments
        let result: (exitCode: Int, stdout: Data, stderr: Data)
        if output {
            result = try engine.exec(container, argv)
        } else {
            let detached = try engine.execDetached(container, argv)
            result = (detached.exitCode, Data(), detached.stderr)
        }
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
