import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsTestSupport
import XCTest

@testable import SwapPlugin

/// The failure paths that could drop, stop or misrecord production, each tried on the sandbox.
final class DataSafetySerial: SeededDeployProject {
    override var projectPrefix: String { "tmeops-safety" }

    var stateDir: URL { URL(fileURLWithPath: "/home/\(sandbox["SANDBOX_SSH_USER"])/.tmeops/tme-portal/\(environmentName)") }

    func users() throws -> String {
        try sandbox.docker([
            "exec", sandbox["SANDBOX_PG_CONTAINER"], "psql", "-h", "/tmp", "-U", "tme_user", "-d", "tme_portal", "-tAc", "SELECT count(*) FROM users",
        ])
        .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testNoCommandCanCopyOntoTheDatabaseItRunsOn() throws {
        let before = try users()
        XCTAssertNotEqual(before, "")
        let copy = try tmeops(["migrate", "test", "-e", "sandbox", "--copy-name", "tme_portal"])
        XCTAssertNotEqual(copy.status, 0, copy.stdout)
        XCTAssertTrue(copy.stderr.contains("refusing to drop"), copy.stderr)
        XCTAssertEqual(try users(), before, "production's data is untouched")

        try editConfig { $0.replacingOccurrences(of: "database: tme_portal_test", with: "database: tme_portal") }
        let deploy = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(deploy.status, 2, deploy.stdout + deploy.stderr)
        XCTAssertTrue(deploy.stderr.contains("test_instance.database is tme_portal, the environment's own database"), deploy.stderr)
        XCTAssertEqual(try users(), before)
    }

    func testTheSQLAppliedIsTheSQLThatWasTested() throws {
        // A pre-swap hook runs after migrate test and before migrate apply; it edits a tested file.
        try Data("CREATE TABLE release_notes (id serial PRIMARY KEY, body text);\n".utf8)
            .write(to: project.appendingPathComponent("database/migrations/015_release_notes.sql"))
        let hooks = project.appendingPathComponent(".tmeops/hooks")
        try FileManager.default.createDirectory(at: hooks, withIntermediateDirectories: true)
        let hook = hooks.appendingPathComponent("pre-swap")
        try Data("#!/bin/sh\necho 'DROP TABLE users CASCADE;' >> \(project.path)/database/migrations/015_release_notes.sql\n".utf8).write(to: hook)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook.path)
        let before = try users()
        let result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("015_release_notes"), result.stdout)
        XCTAssertEqual(try users(), before, "the statement added after the test never ran")
    }

    func testALockMessageCannotHideItsOwnerAndTwoBreakersCannotBothWin() throws {
        let held = try tmeops(["lock", "acquire", "-e", "sandbox", "--message", "#held\n{\"owner\": \"mallory\"}"])
        XCTAssertEqual(held.status, 0, held.stderr)
        var status = try tmeops(["lock", "status", "-e", "sandbox", "--json"])
        let owner = try JSONDecoder().decode(RemoteState.LockOwner.self, from: Data(status.stdout.utf8))
        XCTAssertEqual(owner.owner, ProcessInfo.processInfo.environment["USER"] ?? NSUserName())
        XCTAssertEqual(owner.message, "#held\n{\"owner\": \"mallory\"}")

        // Make it stale (taken two hours ago, never renewed), then break it from two processes at once.
        let ownerFile = stateDir.appendingPathComponent("lock/owner.json")
        var stale = owner
        stale.at = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-7200))
        stale.pid = 0
        stale.byHand = nil  // a deploy's lock, as a killed deploy leaves it (one taken by hand never expires)
        try JSONEncoder().encode(stale).write(to: ownerFile)
        try? FileManager.default.removeItem(at: stateDir.appendingPathComponent("lock/heartbeat"))
        let results = try [0, 1].map { index -> Process in
            let process = Process()
            process.executableURL = TMEOpsBinary.url
            process.arguments = ["lock", "acquire", "-e", "sandbox", "--force", "--message", "breaker \(index)"]
            process.currentDirectoryURL = project
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        for process in results { process.waitUntilExit() }
        XCTAssertEqual(results.map(\.terminationStatus).sorted(), [0, 1], "exactly one breaker holds the lock")
        status = try tmeops(["lock", "status", "-e", "sandbox", "--json"])
        let winner = try JSONDecoder().decode(RemoteState.LockOwner.self, from: Data(status.stdout.utf8))
        XCTAssertTrue(winner.message.hasPrefix("breaker "), winner.message)
        XCTAssertEqual(try tmeops(["lock", "release", "-e", "sandbox", "--force"]).status, 0)
    }

    func testRecoverLeavesARunningDeployAloneAndAnUnreadableJournalLineIsNamed() throws {
        let journal = stateDir.appendingPathComponent("open/r-x.jsonl")
        let deploy = try startDeploy("tme-portal-server:sandbox-2")
        // While the test instance runs, a second operator runs recover.
        waitForJournal("test-instance", while: deploy)
        XCTAssertTrue(deploy.isRunning, "the deploy reached its test instance")
        let recover = try tmeops(["recover", "-e", "sandbox"])
        deploy.waitUntilExit()
        XCTAssertNotEqual(recover.status, 0, recover.stdout)
        XCTAssertTrue(recover.stderr.contains("a deploy is still running"), recover.stderr)
        XCTAssertEqual(deploy.terminationStatus, 0, "the deploy finished undisturbed")

        // A damaged journal line is named, not skipped.
        try Data("{\"release\":\"r-x\",\"step\":\"swap\",\"phase\":\"start\",\"at\":\"2026-01-01T00:00:00Z\",\"data\":{}}\nnot json at all\n".utf8).write(
            to: journal)
        let damaged = try tmeops(["recover", "-e", "sandbox"])
        XCTAssertNotEqual(damaged.status, 0, damaged.stdout)
        XCTAssertTrue(damaged.stderr.contains("line 2 of the deploy journal"), damaged.stderr)
        XCTAssertTrue(damaged.stderr.contains("open/r-x.jsonl"), damaged.stderr)
        try FileManager.default.removeItem(at: journal)
    }
}

/// Exit codes say what happened to production: 4 when it changed and was put back, 5 when it could not
/// be put back (with the command that restores it).
final class DeployExitCodeSerial: SeededDeployProject {
    override var projectPrefix: String { "tmeops-exit-codes" }

    /// The migrated staging copy differs from `migrations.expect`: production was never touched, so the
    /// deploy ends with exit 1 and `failed`, never `rolled back`.
    func testAStagingCopyThatDiffersFromTheExpectedSchemaEndsWithExitOne() throws {
        try editConfig { $0.replacingOccurrences(of: "  dir: database/migrations\n", with: "  dir: database/migrations\n  expect: sandbox\n") }
        let result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("the migrated staging copy differs from sandbox"), result.stderr)
        let listed = try tmeops(["releases", "-e", "sandbox", "--json"])
        let ledger = try JSONDecoder().decode([RemoteState.Release].self, from: Data(listed.stdout.utf8))
        XCTAssertEqual(ledger.last?.outcome, "failed")
        let version = try sandbox.inNamespace(["curl", "-fsS", "--max-time", "5", "http://127.0.0.1:80/api/version"]).stdout
        XCTAssertTrue(version.contains("sandbox-1"), version)
    }

    /// A check only the post-deploy validation runs (SQL against production), failing: exit 4.
    func testAFailedPostDeployValidationPutsProductionBackWithExitFour() throws {
        try editConfig {
            $0.replacingOccurrences(
                of: "      max_connections: 50",
                with: "      max_connections: 50\n      sql:\n        - { name: release notes present, query: \"SELECT 1 WHERE false\", expect: rows }")
        }
        let result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(result.status, 4, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("post-deploy validation failed; the old container was restored (healthy)"), result.stderr)
        let version = try sandbox.inNamespace(["curl", "-fsS", "--max-time", "5", "http://127.0.0.1:80/api/version"]).stdout
        XCTAssertTrue(version.contains("sandbox-1"), version)
        let apps = try sandbox.docker(["ps", "-a", "--format", "{{.Names}}"]).stdout.split(separator: "\n").filter {
            $0.hasPrefix(sandbox["SANDBOX_APP_CONTAINER"])
        }
        XCTAssertEqual(apps, [Substring(sandbox["SANDBOX_APP_CONTAINER"])], "no aside, old or new container is left")
    }

    /// The host loses a folder production mounts while the post-deploy validation runs: putting the old
    /// container back fails, and so does starting the new one again. Exit 5, and the error names the
    /// command that restores production.
    func testProductionThatCannotBePutBackExitsFiveWithTheCommandThatRestoresIt() throws {
        let folder = URL(fileURLWithPath: sandbox["SANDBOX_DIR"]).appendingPathComponent("extra-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let app = sandbox["SANDBOX_APP_CONTAINER"]
        XCTAssertEqual(try sandbox.docker(["rm", "-f", app]).status, 0)
        let url =
            "postgresql://\(sandbox["SANDBOX_DB_USER"]):\(try sandbox.secret("db_password"))@\(sandbox["SANDBOX_PG_CONTAINER"]):5432/\(sandbox["SANDBOX_DB_NAME"])"
        let started = try sandbox.docker([
            "run", "-d", "--name", app, "--network", sandbox["SANDBOX_NETWORK"], "-p", "80:3000", "--mount",
            "type=bind,source=\(folder.path),target=/app/extra",
            "-e", "NODE_ENV=production", "-e", "DATABASE_URL=\(url)", "--stop-timeout", "1", sandbox["SANDBOX_APP_IMAGE"],
        ])
        XCTAssertEqual(started.status, 0, started.stderr)
        try editConfig {
            $0.replacingOccurrences(of: "      env: { NODE_ENV: production }", with: "      env: { NODE_ENV: production }\n      env_file_format: compose")
                .replacingOccurrences(
                    of: "      max_connections: 50",
                    with:
                        "      max_connections: 50\n      sql:\n        - { name: slow and failing, query: \"SELECT 1 FROM pg_sleep(4) WHERE false\", expect: rows }"
                )
        }
        let errors = Pipe()
        let deploy = try startDeploy("tme-portal-server:sandbox-2", errors: errors)
        // While the validation's slow check runs, the folder goes.
        waitForJournal("validate", while: deploy)
        try FileManager.default.removeItem(at: folder)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        deploy.waitUntilExit()
        XCTAssertEqual(deploy.terminationStatus, 5, stderr)
        XCTAssertTrue(stderr.contains("run `tmeops recover -e sandbox`"), stderr)
        let releases = try JSONDecoder().decode([RemoteState.Release].self, from: Data(try tmeops(["releases", "-e", "sandbox", "--json"]).stdout.utf8))
        XCTAssertEqual(releases.last?.outcome, "not restored")

        // With the folder back, the command the error named restores production.
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let recovered = try tmeops(["recover", "-e", "sandbox"])
        XCTAssertEqual(recovered.status, 0, recovered.stdout + recovered.stderr)
    }
}

/// Faults injected at the exact moment they hurt most: a dropped SSH link between stopping the old
/// container and starting the new one, a journal that can no longer be written mid-swap, a migration
/// that fails on production after passing on the copy, a clean-up that fails after validation.
final class InjectedFaultSerial: SeededDeployProject {
    override var projectPrefix: String { "tmeops-faults" }

    var stateDir: URL { URL(fileURLWithPath: "/home/\(sandbox["SANDBOX_SSH_USER"])/.tmeops/tme-portal/\(environmentName)") }

    func servedVersion() throws -> String {
        try sandbox.inNamespace(["curl", "-fsS", "--max-time", "5", "http://127.0.0.1:80/api/version"]).stdout
    }

    func ledger() throws -> [RemoteState.Release] {
        try JSONDecoder().decode([RemoteState.Release].self, from: Data(try tmeops(["releases", "-e", "sandbox", "--json"]).stdout.utf8))
    }

    /// Runs a deploy of `image` (or the command `arguments`) that pauses at `point`, does `fault` there,
    /// lets it go on and returns its exit status and standard error.
    func deploy(
        _ image: String, breaking point: String, arguments: [String]? = nil, _ fault: (FaultInjection) throws -> Void
    ) throws -> (Int32, String) {
        let faults = try FaultInjection(sandbox: sandbox)
        let errors = Pipe()
        let deploy = try startDeploy(image, errors: errors, environment: faults.pausing(at: point), command: arguments)
        XCTAssertTrue(faults.waitUntilReached(point, while: deploy), "the deploy reached \(point)")
        try fault(faults)
        faults.resume(point)
        // A deploy's standard error is a few kilobytes: the pipe holds it until the end.
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        deploy.waitUntilExit()
        return (deploy.terminationStatus, String(decoding: stderr, as: UTF8.self))
    }

    func testADroppedConnectionBetweenStopAndStartIsReopenedAndProductionPutBack() throws {
        let (status, stderr) = try deploy("tme-portal-server:sandbox-2", breaking: "swap.after-stop") { try $0.cutSSH() }
        XCTAssertEqual(status, 4, "production changed and was put back: \(stderr)")
        XCTAssertTrue(stderr.contains("reconnected to"), stderr)
        XCTAssertTrue(stderr.contains("the old container was started again and is healthy"), stderr)
        XCTAssertTrue(try servedVersion().contains("sandbox-1"))
        XCTAssertEqual(try ledger().last?.outcome, "rolled back")
        XCTAssertEqual(try tmeops(["lock", "status", "-e", "sandbox"]).stdout, "the deploy lock is free\n")
        XCTAssertEqual(try tmeops(["recover", "-e", "sandbox", "--dry-run"]).status, 0, "nothing is left for recover")
    }

    /// The new container is gone when it should start (as if the engine refused it): the old one, already
    /// stopped, is started again and checked before anything is recorded.
    func testANewContainerThatCannotStartPutsTheOldOneBack() throws {
        let (status, stderr) = try deploy("tme-portal-server:sandbox-2", breaking: "swap.after-stop") { _ in
            XCTAssertEqual(try self.sandbox.docker(["rm", "-f", "\(self.sandbox["SANDBOX_APP_CONTAINER"])-new"]).status, 0)
        }
        XCTAssertEqual(status, 4, stderr)
        XCTAssertTrue(stderr.contains("the new container did not start"), stderr)
        XCTAssertTrue(stderr.contains("the old container was started again and is healthy"), stderr)
        XCTAssertTrue(try servedVersion().contains("sandbox-1"))
        XCTAssertEqual(try ledger().last?.outcome, "rolled back")
    }

    /// `rollback --with-database` restores the database, then its swap fails (its container cannot
    /// start): production is put back, and the ledger names the restored backup and the safety
    /// backup, which is pinned to the rollback's release so that no prune takes the way back.
    func testARollbackWithTheDatabaseThatFailsAfterItsRestoreIsRecordedWithBothBackups() throws {
        let deployed = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(deployed.status, 0, deployed.stdout + deployed.stderr)
        let restoredFrom = try XCTUnwrap(try ledger().last?.backup)
        let (status, stderr) = try deploy(
            "", breaking: "swap.after-stop", arguments: ["rollback", "-e", "sandbox", "--with-database", "--yes"]
        ) { _ in
            // The rollback's container is gone when it should start (as if the engine refused it).
            XCTAssertEqual(try self.sandbox.docker(["rm", "-f", "\(self.sandbox["SANDBOX_APP_CONTAINER"])-new"]).status, 0)
        }
        XCTAssertEqual(status, 4, stderr)
        XCTAssertTrue(stderr.contains("the new container did not start"), stderr)
        XCTAssertTrue(stderr.contains("database restored from \(restoredFrom)"), stderr)
        let line = try XCTUnwrap(try ledger().last)
        XCTAssertNotEqual(line.outcome, "rollback", "a rollback that failed is not recorded as one that ran")
        let safety = try XCTUnwrap(line.backup, "the safety backup is the rollback's own")
        XCTAssertNotEqual(safety, restoredFrom)
        XCTAssertTrue(line.detail?.contains("database restored from \(restoredFrom)") ?? false, line.detail ?? "")
        XCTAssertTrue(line.detail?.contains("safety backup \(safety)") ?? false, line.detail ?? "")
        let pin = try String(contentsOfFile: "/home/\(sandbox["SANDBOX_SSH_USER"])/backups/pins/\(safety)", encoding: .utf8)
        XCTAssertEqual(pin, line.id)
        XCTAssertTrue(try servedVersion().contains("sandbox-2"), "the release that ran before the rollback is back")
    }

    /// A deploy whose lock was broken and taken by someone else stops before its next step: it writes
    /// nothing into the new holder's lock or journal, changes nothing in production, and leaves the lock
    /// to its new holder.
    func testADeployWhoseLockWasTakenStopsAtItsNextStep() throws {
        let (status, stderr) = try deploy("tme-portal-server:sandbox-2", breaking: "backup.done") { _ in
            XCTAssertEqual(try self.tmeops(["lock", "release", "-e", "sandbox", "--force"]).status, 0)
            let taken = try self.tmeops(["lock", "acquire", "-e", "sandbox", "--message", "the second operator"])
            XCTAssertEqual(taken.status, 0, taken.stderr)
        }
        XCTAssertEqual(status, 1, stderr)
        XCTAssertTrue(stderr.contains("is no longer this command's"), stderr)
        XCTAssertTrue(stderr.contains("stopping here, before the next step"), stderr)
        let holder = try tmeops(["lock", "status", "-e", "sandbox"])
        XCTAssertTrue(holder.stdout.contains("the second operator"), holder.stdout)
        XCTAssertTrue(try servedVersion().contains("sandbox-1"), "production was never changed")
        XCTAssertEqual(openJournals(), [], "no journal is left open for recover")
        XCTAssertEqual(try tmeops(["lock", "release", "-e", "sandbox", "--force"]).status, 0)
    }

    /// Strategy proxy: when a release fails its post-deploy checks and the previous one can no longer
    /// start, the proxy stays on the release that serves; the record says it was not put back.
    func testAProxyPutBackNeverSwitchesToAnOldReleaseThatFailsItsHealthGate() throws {
        try editConfig { $0.replacingOccurrences(of: "strategy: replace", with: "strategy: proxy") }
        let first = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        // The running release's files change under it: its process still serves, but it cannot start again.
        let broken = try sandbox.docker(["exec", "-u", "root", sandbox["SANDBOX_APP_CONTAINER"], "sh", "-c", "echo 'raise SystemExit(3)' > /app/server.py"])
        XCTAssertEqual(broken.status, 0, broken.stderr)
        // The next release is healthy, but a check only the post-deploy validation runs fails.
        try editConfig {
            $0.replacingOccurrences(
                of: "      max_connections: 50",
                with: "      max_connections: 50\n      sql:\n        - { name: release notes present, query: \"SELECT 1 WHERE false\", expect: rows }")
        }
        let result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-1", "--discard-container-changes"])
        XCTAssertEqual(result.status, 5, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("the previous release was not put back"), result.stderr)
        XCTAssertTrue(result.stderr.contains("still sends traffic to"), result.stderr)
        XCTAssertTrue(try servedVersion().contains("sandbox-1"), "the release that passed its health gate still serves")
        XCTAssertEqual(try ledger().last?.outcome, "not restored")
    }

    func testAJournalThatCannotBeWrittenNeverLeavesProductionStopped() throws {
        let (status, stderr) = try deploy("tme-portal-server:sandbox-2", breaking: "swap.after-stop") {
            // The deploy's own journal, the one file open while it runs.
            let open = self.openJournals()
            XCTAssertEqual(open.count, 1, "\(open)")
            try $0.makeUnwritable(try XCTUnwrap(open.first))
        }
        XCTAssertEqual(status, 4, "a deploy that cannot record its steps puts the old release back: \(stderr)")
        XCTAssertTrue(stderr.contains("/open/r-"), stderr)
        XCTAssertTrue(try servedVersion().contains("sandbox-1"))
        let running = try sandbox.docker(["inspect", "-f", "{{.State.Running}}", sandbox["SANDBOX_APP_CONTAINER"]]).stdout
        XCTAssertEqual(running, "true\n")
        XCTAssertEqual(try ledger().last?.outcome, "rolled back")
    }

    func testAMigrationThatFailsOnProductionPartWayIsRecordedAsApplied() throws {
        // Passes on the staging copy; the pre-swap hook then writes a row into production that the
        // new constraint refuses, so 010-014 commit and 015 fails.
        try Data("ALTER TABLE users ADD CONSTRAINT users_email_lower CHECK (email = lower(email));\n".utf8)
            .write(to: project.appendingPathComponent("database/migrations/015_users_email_lower.sql"))
        let hooks = project.appendingPathComponent(".tmeops/hooks")
        try FileManager.default.createDirectory(at: hooks, withIntermediateDirectories: true)
        let insert = "INSERT INTO users (email, name) VALUES ('Upper@Example.com', 'Upper')"
        try Data(
            """
            #!/bin/sh
            exec docker -H unix://\(sandbox["SANDBOX_DOCKER_SOCKET"]) exec \(sandbox["SANDBOX_PG_CONTAINER"]) psql -h /tmp -U tme_user -d tme_portal -c "\(insert)"

            """.utf8
        ).write(to: hooks.appendingPathComponent("pre-swap"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hooks.appendingPathComponent("pre-swap").path)
        let result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(result.status, 5, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("Production's database WAS changed: 010_add_revision_number"), result.stderr)
        XCTAssertTrue(result.stderr.contains("tmeops backup restore"), result.stderr)
        XCTAssertFalse(result.stderr.contains("not touched") || result.stderr.contains("before production changed"), result.stderr)
        let entry = try XCTUnwrap(try ledger().last)
        XCTAssertEqual(entry.outcome, "partly migrated")
        XCTAssertEqual(entry.migrations.count, 5, "010-014 committed: \(entry.migrations)")
        XCTAssertNotNil(entry.backup)
        XCTAssertTrue(try servedVersion().contains("sandbox-1"), "the app was not swapped")
        let status = try tmeops(["migrate", "status", "-e", "sandbox"])
        XCTAssertTrue(status.stdout.hasPrefix("sandbox: 14 applied, 1 pending"), status.stdout)
    }

    func testAFailedCleanUpAfterAValidatedSwapIsStillDeployed() throws {
        let (status, stderr) = try deploy("tme-portal-server:sandbox-2", breaking: "cleanup.start") { try $0.cutSSH() }
        XCTAssertEqual(status, 0, stderr)
        XCTAssertTrue(stderr.contains("the release is deployed, but its clean-up failed"), stderr)
        XCTAssertTrue(try servedVersion().contains("sandbox-2"))
        let entry = try XCTUnwrap(try ledger().last)
        XCTAssertEqual(entry.outcome, "deployed")
        XCTAssertTrue(entry.detail?.contains("clean-up failed") == true, entry.detail ?? "")
        XCTAssertEqual(try tmeops(["lock", "status", "-e", "sandbox"]).stdout, "the deploy lock is free\n")
    }

    func testRecoverWritesTheBackupAndMigrationsTheJournalRecorded() throws {
        let killed = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"], environment: ["TMEOPS_FAULT_AT": "swap.after-start"])
        XCTAssertEqual(killed.status, 9, killed.stderr)
        let recovered = try tmeops(["recover", "-e", "sandbox"])
        XCTAssertEqual(recovered.status, 0, recovered.stdout + recovered.stderr)
        let entry = try XCTUnwrap(try ledger().last)
        XCTAssertNotNil(entry.backup, "the pre-deployment backup the journal recorded")
        XCTAssertEqual(entry.migrations.count, 5, "\(entry.migrations)")
        XCTAssertEqual(entry.image, "tme-portal-server:sandbox-2")
    }

    /// A deploy that runs longer than `lock_ttl` renews its lock at every step, so the lock a second
    /// operator sees is never expired while it runs. A pre-swap hook of 5 s makes it longer than the
    /// 6 s TTL however fast the rest is, each step still shorter than it.
    func testADeployLongerThanTheLockTTLKeepsItsLockAlive() throws {
        try editConfig { $0.replacingOccurrences(of: "lock_ttl: 30m", with: "lock_ttl: 6s") }
        let hooks = project.appendingPathComponent(".tmeops/hooks")
        try FileManager.default.createDirectory(at: hooks, withIntermediateDirectories: true)
        try Data("#!/bin/sh\nsleep 5\n".utf8).write(to: hooks.appendingPathComponent("pre-swap"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hooks.appendingPathComponent("pre-swap").path)
        let deploy = try startDeploy("tme-portal-server:sandbox-2")
        waitForJournal("validate", while: deploy)
        let status = try tmeops(["lock", "status", "-e", "sandbox", "--json"])
        let owner = try JSONDecoder().decode(RemoteState.LockOwner.self, from: Data(status.stdout.utf8))
        let (age, idle) = (Date().timeIntervalSince(try XCTUnwrap(owner.acquired)), try XCTUnwrap(owner.idleSeconds))
        deploy.waitUntilExit()
        XCTAssertEqual(deploy.terminationStatus, 0)
        XCTAssertGreaterThan(age, 6, "the deploy ran longer than its lock_ttl")
        XCTAssertLessThan(idle, 6, "and renewed the lock meanwhile: \(status.stdout)")
    }

    func testMigrateApplyOnAProtectedEnvironmentLocksAndBacksUpFirst() throws {
        XCTAssertEqual(try tmeops(["migrate", "test", "-e", "sandbox"]).status, 0)
        // A second operator holds the deploy lock: nothing is applied.
        XCTAssertEqual(try tmeops(["lock", "acquire", "-e", "sandbox", "--message", "maintenance"]).status, 0)
        var apply = try tmeops(["migrate", "apply", "-e", "sandbox"])
        XCTAssertEqual(apply.status, 1, apply.stdout + apply.stderr)
        XCTAssertTrue(apply.stderr.contains("is held by"), apply.stderr)
        XCTAssertTrue(try tmeops(["migrate", "status", "-e", "sandbox"]).stdout.hasPrefix("sandbox: 9 applied"))
        XCTAssertEqual(try tmeops(["lock", "release", "-e", "sandbox", "--force"]).status, 0)

        apply = try tmeops(["migrate", "apply", "-e", "sandbox"])
        XCTAssertEqual(apply.status, 0, apply.stdout + apply.stderr)
        XCTAssertTrue(apply.stdout.contains("backup taken first: "), apply.stdout)
        XCTAssertTrue(try tmeops(["migrate", "status", "-e", "sandbox"]).stdout.hasPrefix("sandbox: 14 applied"))
        let audit = try String(contentsOf: stateDir.appendingPathComponent("audit.jsonl"), encoding: .utf8)
        XCTAssertTrue(audit.contains(#""action":"migrate apply""#), audit)
        XCTAssertEqual(try tmeops(["lock", "status", "-e", "sandbox"]).stdout, "the deploy lock is free\n")
    }

    func testSecretsNeverReachTheLockTheJournalOrTheLedger() throws {
        let secret = try sandbox.secret("db_password")
        XCTAssertEqual(try tmeops(["lock", "acquire", "-e", "sandbox", "--message", "rotating \(secret)"]).status, 0)
        let owner = try String(contentsOf: stateDir.appendingPathComponent("lock/owner.json"), encoding: .utf8)
        XCTAssertFalse(owner.contains(secret), owner)
        XCTAssertEqual(try tmeops(["lock", "release", "-e", "sandbox", "--force"]).status, 0)
        let result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2", "--message", "after \(secret)"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let written = try ProcessRunner.run("/bin/sh", ["-c", #"cat "$1"/releases.jsonl "$1"/journals/*.jsonl"#, "sh", stateDir.path]).stdout
        XCTAssertTrue(written.contains("after "), written)
        XCTAssertFalse(written.contains(secret), "a secret in the ledger or journal")
    }
}
