import Foundation
import TMEOpsCore
import TMEOpsTestSupport
import XCTest

/// Staging beside production on one server, as small teams run it: one login, one PostgreSQL container,
/// one backups folder (the sandbox config's `staging`, with keep_last: 1), two databases.
final class SharedServerSerial: SeededDeployProject {
    override var projectPrefix: String { "tmeops-shared" }

    func psql(_ sql: String, database: String = "postgres") throws -> ProcessResult {
        try sandbox.docker(["exec", sandbox["SANDBOX_PG_CONTAINER"], "psql", "-h", "/tmp", "-U", sandbox["SANDBOX_DB_USER"], "-d", database, "-tAc", sql])
    }

    /// The backups in the shared folder, by the database their metadata names.
    func backups() throws -> [String: [String]] {
        let folder = URL(fileURLWithPath: "/home/\(sandbox["SANDBOX_SSH_USER"])/backups")
        var found: [String: [String]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".json") {
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent(name))) as? [String: Any]
            found[object?["database"] as? String ?? "?", default: []].append(String(name.dropLast(5)))
        }
        return found.mapValues { $0.sorted() }
    }

    func backup(_ environment: String, label: String) throws -> String {
        let made = try tmeops(["backup", "create", "-e", environment, "--label", label, "--json"])
        XCTAssertEqual(made.status, 0, made.stdout + made.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(made.stdout.utf8)) as? [String: Any]
        return try XCTUnwrap(object?["id"] as? String, made.stdout)
    }

    func testStagingPrunesAndRestoresOnlyItsOwnBackups() throws {
        let production = sandbox["SANDBOX_DB_NAME"]
        let staging = production + "_staging"
        _ = try psql("DROP DATABASE IF EXISTS \(staging) WITH (FORCE)")
        XCTAssertEqual(try psql("CREATE DATABASE \(staging)").status, 0)
        defer { _ = try? psql("DROP DATABASE IF EXISTS \(staging) WITH (FORCE)") }
        let productionBackups = [try backup("sandbox", label: "prod-a"), try backup("sandbox", label: "prod-b")]
        _ = try backup("staging", label: "staging-a")
        let newest = try backup("staging", label: "staging-b")

        // staging keeps one backup: its older one goes, production's two stay.
        let pruned = try tmeops(["backup", "prune", "-e", "staging"])
        XCTAssertEqual(pruned.status, 0, pruned.stdout + pruned.stderr)
        let left = try backups()
        XCTAssertEqual(left[production], productionBackups.sorted(), "production's backups are not staging's to prune")
        XCTAssertEqual(left[staging], [newest])

        // A restore into staging of production's backup is refused, naming the way to do it anyway.
        let refused = try tmeops(["backup", "restore", productionBackups[0], "-e", "staging", "--yes"])
        XCTAssertEqual(refused.status, 2, refused.stdout + refused.stderr)
        XCTAssertTrue(refused.stderr.contains("is of database \(production) (environment sandbox), not staging's \(staging)"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--from-database \(production)"), refused.stderr)
        XCTAssertEqual(try backups()[staging], [newest], "no safety backup: nothing was started")

        // Named on purpose, it goes (into a new database here, to leave staging's as it is).
        let copy = staging + "_copy"
        defer { _ = try? psql("DROP DATABASE IF EXISTS \(copy) WITH (FORCE)") }
        let allowed = try tmeops(["backup", "restore", productionBackups[0], "-e", "staging", "--to-db", copy, "--from-database", production])
        XCTAssertEqual(allowed.status, 0, allowed.stdout + allowed.stderr)
        XCTAssertEqual(
            try psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database: copy).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                != "0", true)
    }
}
