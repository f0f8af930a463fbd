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

    func version(port: Int) throws -> String {
        try sandbox.inNamespace(["curl", "-sS", "--max-time", "5", "http://127.0.0.1:\(port)/api/version"]).stdout
    }

    func ledger(_ environment: String) throws -> [[String: Any]] {
        let listed = try tmeops(["releases", "-e", environment, "--json"])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        return try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
    }

    /// Staging deployed beside production on one server and one login: each keeps its own lock,
    /// journal and ledger, so staging's rollback, a staging deploy killed mid-swap and production's
    /// `recover` never touch the other's release, data, backups or history.
    func testStagingsDeploysRollbacksAndAKilledDeployLeaveProductionAlone() throws {
        let production = sandbox["SANDBOX_DB_NAME"]
        let staging = production + "_staging"
        for database in [staging, staging + "_test"] { _ = try psql("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
        XCTAssertEqual(try psql("CREATE DATABASE \(staging)").status, 0)
        defer { for database in [staging, staging + "_test"] { _ = try? psql("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") } }
        let migrated = try tmeops(["migrate", "apply", "-e", "staging", "--untested"])
        XCTAssertEqual(migrated.status, 0, migrated.stdout + migrated.stderr)
        // Staging's first container, started by hand as the team did, from its env file.
        let container = sandbox["SANDBOX_STAGING_CONTAINER"]
        let started = try sandbox.docker([
            "run", "-d", "--init", "--name", container, "--network", sandbox["SANDBOX_NETWORK"], "-p", "8080:3000",
            "--env-file", "/home/\(sandbox["SANDBOX_SSH_USER"])/.env.staging", "tme-portal-server:sandbox-1",
        ])
        XCTAssertEqual(started.status, 0, started.stderr)
        defer { _ = try? sandbox.docker(["rm", "-f", container, container + "-old", container + "-new", container + "-test"]) }

        var result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2", "--message", "production v2"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        result = try tmeops(["deploy", "-e", "staging", "--image", "tme-portal-server:sandbox-2", "--message", "staging v2"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(try version(port: 8080).contains("sandbox-2"))
        let productionLedger = try ledger("sandbox")
        XCTAssertEqual(productionLedger.compactMap { $0["message"] as? String }, ["production v2"], "production's history is its own")
        XCTAssertEqual(try ledger("staging").compactMap { $0["message"] as? String }, ["staging v2"], "staging's history is its own")
        let productionBackups = try backups()[production]
        let rows = try psql("SELECT count(*) FROM users", database: production).stdout

        // Staging rolls back to the release it ran before: production's is not among its choices.
        result = try tmeops(["rollback", "-e", "staging"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(try version(port: 8080).contains("sandbox-1"))
        XCTAssertTrue(try version(port: 80).contains("sandbox-2"), "production still runs its release")

        // A staging deploy killed mid-swap; production's recover finds nothing of its own to do.
        result = try tmeops(["deploy", "-e", "staging", "--image", "tme-portal-server:sandbox-2"], environment: ["TMEOPS_FAULT_AT": "swap.after-stop"])
        XCTAssertEqual(result.status, 9, result.stdout + result.stderr)
        result = try tmeops(["recover", "-e", "sandbox"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(try version(port: 80).contains("sandbox-2"), "production still runs its release")
        result = try tmeops(["deploy", "-e", "staging", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("run `tmeops recover -e staging` first"), result.stderr)
        result = try tmeops(["recover", "-e", "staging"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertEqual(try tmeops(["validate", "health", "-e", "staging", "--attempts", "5"]).status, 0)

        // Production's history, backups and data are as they were.
        XCTAssertEqual(NSArray(array: try ledger("sandbox")), NSArray(array: productionLedger))
        XCTAssertEqual(try backups()[production], productionBackups)
        XCTAssertEqual(try psql("SELECT count(*) FROM users", database: production).stdout, rows)
        XCTAssertTrue(try version(port: 80).contains("sandbox-2"))
        XCTAssertEqual(try tmeops(["validate", "health", "-e", "sandbox", "--attempts", "5"]).status, 0)
    }
}
