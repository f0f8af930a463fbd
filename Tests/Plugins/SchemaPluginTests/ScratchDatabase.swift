import ArgumentParser
import Foundation
import TMEOpsCore
import TMEOpsPostgres
import TMEOpsTestSupport
import XCTest

@testable import tmeops

/// A database of its own on the sandbox's development server, with a harness whose tmeops.yml has an
/// environment `scratch` (a URL) pointing at it. Dropped when the test ends.
final class ScratchDatabase: @unchecked Sendable {
    let name: String
    let target: PostgresTarget
    let harness: TestHarness
    private(set) var connection: PostgresConnection
    private let admin: PostgresConnection

    /// `test` drops the database when it ends; without one (work on other threads) the caller drops it.
    init(_ test: XCTestCase?, migrations: [String: String] = [:], extraConfig: String = "") throws {
        let sandbox = try Sandbox.require()
        let password = try sandbox.secret("dev_db_password")
        name = "tmeops_t_\(UUID().uuidString.prefix(8).lowercased())"
        let server = PostgresTarget(
            host: "127.0.0.1", port: Int(sandbox["SANDBOX_DEV_PORT"]) ?? 5434, user: sandbox["SANDBOX_DB_USER"], password: password, database: "postgres")
        admin = try PostgresConnection(server)
        try admin.execute("CREATE DATABASE \(name)")
        target = server.with(database: name)
        connection = try PostgresConnection(target)
        try connection.execute("SET search_path = public")
        harness = try TestHarness(environment: [
            "HOME": NSHomeDirectory(), "TMEOPS_TEMPLATES": TMEOpsBinary.packageRoot.appendingPathComponent("Templates").path,
            "SCRATCH_DB_PASSWORD": password,
        ])
        try registerPlugins(into: harness.registry)
        try harness.write(
            "tmeops.yml",
            """
            app: scratch
            image: scratch
            migrations:
              dir: database/migrations
              lock_timeout: 300ms
              lock_retries: 1
            \(extraConfig)
            environments:
              scratch:
                database:
                  url: postgresql://\(server.user):${SCRATCH_DB_PASSWORD}@\(server.host):\(server.port)/\(name)

            """)
        try FileManager.default.createDirectory(
            at: harness.directory.appendingPathComponent("database/migrations"), withIntermediateDirectories: true)
        for (file, text) in migrations { try harness.write("database/migrations/\(file)", text) }
        test?.addTeardownBlock { [self] in self.drop() }
    }

    /// The database's URL (password included: commands must redact it).
    var url: String { "postgresql://\(target.user):\(target.password ?? "")@\(target.host):\(target.port)/\(name)" }

    func drop() {
        connection.close()
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(name)_tmeops_test WITH (FORCE)")
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(name)_tmeops_adopt WITH (FORCE)")
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(name)_tmeops_plan WITH (FORCE)")
        admin.close()
    }

    /// Closes the test's own connection (so the database is idle), runs `body`, and reconnects.
    func whileDisconnected<T>(_ body: () async throws -> T) async throws -> T {
        connection.close()
        defer {
            if let reconnected = try? PostgresConnection(target) {
                connection = reconnected
                _ = try? connection.execute("SET search_path = public")
            }
        }
        return try await body()
    }

    func migration(_ file: String, _ text: String) throws { try harness.write("database/migrations/\(file)", text) }

    /// Runs a command through the harness; returns the exit status it would give (0, or the error's).
    @discardableResult
    func run<Command: TMEOpsCommand>(_ command: Command) async -> (status: Int32, error: String) {
        harness.stderr.clear()
        return await harness.outcome(command)
    }
}
