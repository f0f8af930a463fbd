import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsTestSupport
import XCTest

@testable import SwapPlugin
@testable import tmeops

/// A project written by `scripts/sandbox config --migrations` against a freshly seeded sandbox (production
/// at version 1, its database hand-migrated to 009 and adopted), and the real binary to run in it.
class SeededDeployProject: XCTestCase {
    var project: URL!
    var sandbox: Sandbox!
    /// The temporary project folder's name prefix.
    var projectPrefix: String { "tmeops-deploy" }
    /// The environment deployed to, and the `scripts/sandbox` arguments that reset it.
    var environmentName: String { "sandbox" }
    var seedArguments: [String] { ["seed"] }
    /// The build machine's engine the binary pushes from (the sandbox's classic one unless a class says).
    var localDockerSocket: String { sandbox["SANDBOX_LOCAL_DOCKER_SOCKET"] }

    override func setUpWithError() throws {
        sandbox = try Sandbox.require()
        project = try TemporaryDirectory.make(prefix: projectPrefix)
        let written = try ProcessRunner.run("/bin/bash", [Sandbox.script, "config", "--write", project.path, "--migrations"])
        XCTAssertEqual(written.status, 0, written.stderr)
        // A tight health budget: a failure path's gate gives up after 10 × 0.5 s instead of 10 × 1 s (the
        // sample app answers within a second of its start, so a healthy one passes as before).
        if environmentName == "sandbox" {
            let (slow, tight) = ("interval: 1s\n      expect_status", "interval: 0.5s\n      expect_status")
            try editConfig { $0.replacingOccurrences(of: slow, with: tight) }
            let config = try String(contentsOf: project.appendingPathComponent("tmeops.yml"), encoding: .utf8)
            XCTAssertTrue(config.contains("interval: 0.5s"), "the sandbox's health block changed: \(config)")
        }
        try sandbox.seedAdopted(seedArguments) { try self.tmeops(["migrate", "adopt", "-e", self.environmentName]) }
    }

    override func tearDownWithError() throws {
        if let project { try? FileManager.default.removeItem(at: project) }
    }

    @discardableResult
    func tmeops(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        var env = ["DOCKER_HOST": "unix://\(localDockerSocket)"]
        env.merge(environment) { _, new in new }
        return try TMEOpsBinary.run(arguments, in: project, environment: env)
    }

    /// The binary deploying `image` in the background (the local engine as its DOCKER_HOST); its
    /// standard error is collected in `errors` when given.
    /// (`command`, when given, runs instead of the deploy.)
    func startDeploy(
        _ image: String, errors: Pipe? = nil, environment: [String: String] = [:], arguments: [String] = [], command: [String]? = nil
    ) throws -> Process {
        let deploy = Process()
        deploy.executableURL = TMEOpsBinary.url
        deploy.arguments = command ?? (["deploy", "-e", environmentName, "--image", image] + arguments)
        deploy.currentDirectoryURL = project
        var env = ProcessInfo.processInfo.environment
        env["DOCKER_HOST"] = "unix://\(localDockerSocket)"
        env.merge(environment) { _, new in new }
        deploy.environment = env
        deploy.standardOutput = FileHandle.nullDevice
        deploy.standardError = errors ?? FileHandle.nullDevice
        try deploy.run()
        return deploy
    }

    /// The environment's state folder on the sandbox host.
    var stateFolder: String { "/home/\(sandbox["SANDBOX_SSH_USER"])/.tmeops/tme-portal/\(environmentName)" }

    /// The paths of the journals open on the sandbox host (one per release in progress).
    func openJournals() -> [String] {
        let folder = "\(stateFolder)/open"
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".jsonl") }.sorted().map { "\(folder)/\($0)" }
    }

    /// The open journals' lines on the sandbox host, as one text.
    func openJournalText() -> String { openJournals().compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }.joined() }

    /// Waits (at most 30 s, or until `process` ends) for the deploy journal on the host to mention `step`.
    func waitForJournal(_ step: String, while process: Process) {
        for _ in 0..<600 where process.isRunning {
            if openJournalText().contains("\"step\":\"\(step)\"") { return }
            usleep(50_000)
        }
    }

    func editConfig(_ edit: (String) -> String) throws {
        let url = project.appendingPathComponent("tmeops.yml")
        try Data(edit(try String(contentsOf: url, encoding: .utf8)).utf8).write(to: url)
    }
}

/// `tmeops deploy`, `recover`, `rollback` and the lock through the real binary against the sandbox host:
/// production starts each test at version 1 with its database hand-migrated to 009 (`scripts/sandbox seed`).
final class DeploySerial: SeededDeployProject {

    func containers() throws -> [String] {
        try sandbox.docker(["ps", "-a", "--format", "{{.Names}} {{.Status}} {{.Image}}"]).stdout.split(separator: "\n").map(String.init)
            .filter { $0.hasPrefix(sandbox["SANDBOX_APP_CONTAINER"]) && !$0.hasPrefix(sandbox["SANDBOX_APP_CONTAINER"] + "-proxy ") }
    }

    /// Exactly one app container, running and answering 200 with version `version`.
    func assertOneHealthyApp(_ version: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let apps = try containers()
        XCTAssertEqual(apps.count, 1, "\(apps)", file: file, line: line)
        XCTAssertTrue(apps.first?.contains(" Up ") ?? false, "\(apps)", file: file, line: line)
        let health = try tmeops(["validate", "health", "-e", "sandbox", "--attempts", "5"])
        XCTAssertEqual(health.status, 0, health.stdout + health.stderr, file: file, line: line)
        let body = try sandbox.inNamespace(["curl", "-fsS", "--max-time", "5", "http://127.0.0.1:80/api/version"])
        XCTAssertTrue(body.stdout.contains(version), "serving \(body.stdout), expected \(version)", file: file, line: line)
    }

    func rows() throws -> String {
        try sandbox.docker([
            "exec", sandbox["SANDBOX_PG_CONTAINER"], "psql", "-h", "/tmp", "-U", "tme_user", "-d", "tme_portal", "-tAc", "SELECT count(*) FROM users",
        ])
        .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testDeployAppliesMigrationsSwapsAndRecordsARelease() throws {
        let result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2", "--message", "v2"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        for expected in ["[1/10] preflight and lock", "applied 010_add_revision_number, 011_add_submitter_message", "✓ released r-", "unavailable: "] {
            XCTAssertTrue(result.stdout.contains(expected), "missing \(expected) in\n\(result.stdout)")
        }
        try assertOneHealthyApp("sandbox-2")
        let status = try tmeops(["migrate", "status", "-e", "sandbox"])
        XCTAssertEqual(status.status, 0, status.stdout)
        XCTAssertTrue(status.stdout.hasPrefix("sandbox: 14 applied"), status.stdout)
        let releases = try tmeops(["releases", "-e", "sandbox", "--json"])
        let ledger = try JSONDecoder().decode([RemoteState.Release].self, from: Data(releases.stdout.utf8))
        XCTAssertEqual(ledger.map(\.outcome), ["deployed"])
        XCTAssertEqual(ledger.first?.migrations.count, 5)
        XCTAssertNotNil(ledger.first?.backup)
        // The env file's secret is not in the container's configuration.
        let inspect = try sandbox.docker(["inspect", sandbox["SANDBOX_APP_CONTAINER"]]).stdout
        XCTAssertFalse(inspect.contains(try sandbox.secret("db_password")), "the database password must not show in docker inspect")
        XCTAssertTrue(inspect.contains("/run/tmeops/app.env"), "the env file is mounted instead")
        let lock = try tmeops(["lock", "status", "-e", "sandbox"])
        XCTAssertEqual(lock.stdout, "the deploy lock is free\n")

        // A rollback returns to version 1 through the same health gate.
        let rollback = try tmeops(["rollback", "-e", "sandbox"])
        XCTAssertEqual(rollback.status, 0, rollback.stdout + rollback.stderr)
        try assertOneHealthyApp("sandbox-1")
    }

    func testReleasesBeyondKeepReleasesLoseTheirTagAndBackupPin() throws {
        try editConfig { $0.replacingOccurrences(of: "keep_releases: 5", with: "keep_releases: 1") }
        for image in ["tme-portal-server:sandbox-2", "tme-portal-server:sandbox-1"] {
            let result = try tmeops(["deploy", "-e", "sandbox", "--image", image])
            XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        }
        let releases = try tmeops(["releases", "-e", "sandbox", "--json"])
        let ledger = try JSONDecoder().decode([RemoteState.Release].self, from: Data(releases.stdout.utf8))
        XCTAssertEqual(ledger.map(\.outcome), ["deployed", "deployed"])
        let (first, second) = (ledger[0], ledger[1])
        let tags = try sandbox.docker(["images", "--format", "{{.Repository}}:{{.Tag}}", "tme-portal-server"]).stdout
        XCTAssertFalse(tags.contains(":\(first.id)\n"), "the release beyond keep_releases loses its tag: \(tags)")
        XCTAssertTrue(tags.contains(":\(second.id)\n"), tags)
        let pins = try sandbox.inNamespace(["ls", "/home/tme-user/backups/pins"]).stdout
        XCTAssertFalse(pins.contains(try XCTUnwrap(first.backup)), "its backup is no longer pinned: \(pins)")
        XCTAssertTrue(pins.contains(try XCTUnwrap(second.backup)), pins)
    }

    func testABrokenImageIsStoppedAtItsTestInstanceAndProductionKeepsServing() throws {
        let before = try rows()
        let result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-3"])
        XCTAssertEqual(result.status, 1, "refused before production changed: \(result.stdout) \(result.stderr)")
        XCTAssertTrue(result.stderr.contains("failed its health gate"), result.stderr)
        try assertOneHealthyApp("sandbox-1")
        XCTAssertEqual(try rows(), before)
        let releases = try tmeops(["releases", "-e", "sandbox", "--json"])
        XCTAssertEqual(try JSONDecoder().decode([RemoteState.Release].self, from: Data(releases.stdout.utf8)).map(\.outcome), ["failed"])
        let databases = try sandbox.docker([
            "exec", sandbox["SANDBOX_PG_CONTAINER"], "psql", "-h", "/tmp", "-U", "tme_user", "-d", "postgres", "-tAc", "SELECT datname FROM pg_database",
        ])
        XCTAssertFalse(databases.stdout.contains("tme_portal_test"), "the staging copy is dropped")
    }

    func testAFailingMigrationStopsBeforeTheSwapAndChangesNothing() throws {
        try Data("ALTER TABLE users ADD COLUMN nickname text;\nALTER TABLE users ALTER COLUMN nickname SET NOT NULL;\n".utf8)
            .write(to: project.appendingPathComponent("database/migrations/015_nickname.sql"))
        let result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("015_nickname.sql:2:"), result.stderr)
        XCTAssertTrue(result.stderr.contains("SQLSTATE 23502"), result.stderr)
        try assertOneHealthyApp("sandbox-1")
        let status = try tmeops(["migrate", "status", "-e", "sandbox"])
        XCTAssertTrue(status.stdout.hasPrefix("sandbox: 9 applied, 6 pending"), "production's database is unchanged: \(status.stdout)")
    }

    func testAConcurrentDeployIsRefusedWithTheOwnersDetails() throws {
        let held = try tmeops(["lock", "acquire", "-e", "sandbox", "--message", "vacuum by hand"])
        XCTAssertEqual(held.status, 0, held.stderr)
        let result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("the deploy lock on 10.97.149.2 is held by"), result.stderr)
        XCTAssertTrue(result.stderr.contains("\"vacuum by hand\""), result.stderr)
        // Refused, and the refusal is in the audit log beside the lock taken by hand.
        let audit = try tmeops(["audit", "-e", "sandbox", "--since", "1h", "--json"])
        XCTAssertEqual(audit.status, 0, audit.stderr)
        let lines = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(lines.suffix(2).map { "\($0["action"] ?? "") \($0["outcome"] ?? "")" }, ["lock acquire held", "deploy refused"])
        XCTAssertTrue((lines.last?["detail"] as? String ?? "").contains("\"vacuum by hand\""), "\(lines)")
        let text = try tmeops(["audit", "-e", "sandbox"])
        XCTAssertTrue(text.stdout.contains("✗ deploy  refused"), text.stdout)
        XCTAssertEqual(try tmeops(["audit", "-e", "sandbox", "--since", "2099-01-01"]).stdout.hasPrefix("no audit entries since 2099-01-01"), true)
        XCTAssertEqual(try tmeops(["audit", "-e", "sandbox", "--since", "yesterday"]).status, 2)
        let waited = try tmeops(["lock", "acquire", "-e", "sandbox", "--lock-wait", "2s"])
        XCTAssertEqual(waited.status, 1)
        XCTAssertTrue(waited.stderr.contains("(waited 2s for it; --lock-wait waits longer)"), waited.stderr)
        let refused = try tmeops(["lock", "release", "-e", "sandbox"])
        XCTAssertEqual(refused.status, 2, "a held lock needs --force")
        XCTAssertEqual(try tmeops(["lock", "release", "-e", "sandbox", "--force"]).status, 0)
        try assertOneHealthyApp("sandbox-1")
    }

    /// `deploy` without --image builds the working tree (a git repository here), tags it with its commit
    /// (`-dirty` with uncommitted files), verifies it and deploys it; an image that fails verification
    /// stops before production; `build.command` builds with the team's own tool.
    func testDeployWithoutAnImageBuildsTheWorkingTreeVerifiesAndDeploysIt() throws {
        func git(_ arguments: [String]) throws {
            let result = try ProcessRunner.run("/usr/bin/git", ["-C", project.path, "-c", "user.name=ci", "-c", "user.email=ci@example.com"] + arguments)
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let dockerfile = project.appendingPathComponent("Dockerfile")
        try Data("FROM tme-portal-server:sandbox-2\nLABEL org.example.built-from=working-tree\n".utf8).write(to: dockerfile)
        try git(["init", "-q"])
        try git(["add", "Dockerfile", "tmeops.yml", "database"])
        try git(["commit", "-q", "-m", "app"])
        let commit = try ProcessRunner.run("/usr/bin/git", ["-C", project.path, "rev-parse", "--short=12", "HEAD"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try git(["add", "-A"])
        try git(["commit", "-q", "-m", "the rest"])
        let head = try ProcessRunner.run("/usr/bin/git", ["-C", project.path, "rev-parse", "--short=12", "HEAD"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotEqual(commit, head)

        let planned = try tmeops(["deploy", "-e", "sandbox", "--dry-run"])
        XCTAssertEqual(planned.status, 0, planned.stderr)
        XCTAssertTrue(planned.stdout.contains("would build tme-portal-server:\(head) from "), planned.stdout)

        // An uncommitted change: the tag says so.
        try Data("FROM tme-portal-server:sandbox-2\nLABEL org.example.built-from=working-tree-changed\n".utf8).write(to: dockerfile)
        let deployed = try tmeops(["deploy", "-e", "sandbox", "--json"])
        XCTAssertEqual(deployed.status, 0, deployed.stderr)
        let release = try XCTUnwrap(try? JSONDecoder().decode(RemoteState.Release.self, from: Data(deployed.stdout.utf8)), deployed.stdout)
        XCTAssertEqual(release.image, "tme-portal-server:\(head)-dirty")
        XCTAssertTrue(deployed.stderr.contains("built and verified tme-portal-server:\(head)-dirty"), deployed.stderr)
        try assertOneHealthyApp("sandbox-2")

        // An image that fails verification (a development build) never reaches the host.
        try Data("FROM tme-portal-server:sandbox-2\nENV NODE_ENV=development\n".utf8).write(to: dockerfile)
        let refused = try tmeops(["deploy", "-e", "sandbox"])
        XCTAssertEqual(refused.status, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("fails verification: NODE_ENV: the image config has NODE_ENV=development"), refused.stderr)
        XCTAssertEqual(try tmeops(["releases", "-e", "sandbox", "--json"]).stdout.components(separatedBy: "\"id\"").count - 1, 1, "no new release")

        // build.command: the team's own tool builds; tmeops verifies and tags. One that leaves no image is named.
        try editConfig {
            $0.replacingOccurrences(
                of: "  dockerfile: Dockerfile\n", with: "  dockerfile: Dockerfile\n  command: docker tag tme-portal-server:sandbox-2 \"$TMEOPS_IMAGE_REF\"\n")
        }
        let built = try tmeops(["image", "build", "--tag", "tme-portal-server:by-command"])
        XCTAssertEqual(built.status, 0, built.stderr)
        XCTAssertTrue(built.stdout.contains("with build.command: docker tag"), built.stdout)
        let local = try ProcessRunner.run(
            "/usr/bin/docker", ["image", "inspect", "-f", "{{.Id}}", "tme-portal-server:by-command", "tme-portal-server:sandbox-2"],
            environment: ["DOCKER_HOST": "unix://\(sandbox["SANDBOX_LOCAL_DOCKER_SOCKET"])"])
        let ids = local.stdout.split(separator: "\n")
        XCTAssertEqual(ids.count, 2, local.stderr)
        XCTAssertEqual(ids.first, ids.last)
        try editConfig { $0.replacingOccurrences(of: "docker tag tme-portal-server:sandbox-2", with: "true || docker tag tme-portal-server:sandbox-2") }
        let nothing = try tmeops(["image", "build", "--tag", "tme-portal-server:never-made"])
        XCTAssertEqual(nothing.status, 1)
        XCTAssertTrue(nothing.stderr.contains("build.command finished but the local engine has no image tme-portal-server:never-made"), nothing.stderr)
    }

    /// `tmeops exec`: in the running app container through the Engine API, as the app runs (its user and
    /// env file's variables), exit status passed through, standard input with -i.
    func testExecRunsInTheAppContainerWithItsStatusAndInput() throws {
        let ran = try tmeops(["exec", "-e", "sandbox", "--", "sh", "-c", "id -u; test -n \"$DATABASE_URL\" && echo has-database-url; echo oops >&2; exit 7"])
        XCTAssertEqual(ran.status, 7, ran.stderr)
        XCTAssertEqual(ran.stdout, "1000\nhas-database-url\n")
        XCTAssertTrue(ran.stderr.contains("oops"), ran.stderr)
        let input = Pipe()
        let process = Process()
        process.executableURL = TMEOpsBinary.url
        process.arguments = ["exec", "-e", "sandbox", "-i", "--", "sh", "-c", "tr a-z A-Z; echo done"]
        process.currentDirectoryURL = project
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(String(repeating: "fed through stdin\n", count: 10_000).utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(text, String(repeating: "FED THROUGH STDIN\n", count: 10_000) + "done\n")
        let missing = try tmeops(["exec", "-e", "sandbox", "--container", "nothing-here", "--", "true"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("there is no container nothing-here"), missing.stderr)
        XCTAssertEqual(try tmeops(["exec", "-e", "sandbox"]).status, 2, "no command")

        // Once tmeops made the container, the env file's variables are no longer in its configuration:
        // the command still gets them, as the app did, and its arguments reach it untouched.
        let deployed = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(deployed.status, 0, deployed.stdout + deployed.stderr)
        let inspected = try sandbox.docker(["inspect", "-f", "{{json .Config.Env}}", sandbox["SANDBOX_APP_CONTAINER"]]).stdout
        XCTAssertFalse(inspected.contains("DATABASE_URL"), inspected)
        let after = try tmeops(["exec", "-e", "sandbox", "--", "sh", "-c", "test -n \"$DATABASE_URL\" && echo has-database-url; echo \"$1\"", "sh", "a b;$c"])
        XCTAssertEqual(after.status, 0, after.stderr)
        XCTAssertEqual(after.stdout, "has-database-url\na b;$c\n")
    }

    /// A CI pipeline's deploy queues behind a held lock with --lock-wait and goes on when it is released.
    func testADeployWithLockWaitQueuesBehindTheHolder() throws {
        XCTAssertEqual(try tmeops(["lock", "acquire", "-e", "sandbox", "--message", "the deploy before"]).status, 0)
        let errors = Pipe()
        let deploy = try startDeploy("tme-portal-server:sandbox-2", errors: errors, arguments: ["--lock-wait", "2m"])
        sleep(4)
        XCTAssertTrue(deploy.isRunning, "the deploy waits for the lock")
        try assertOneHealthyApp("sandbox-1")
        let released = Date()
        XCTAssertEqual(try tmeops(["lock", "release", "-e", "sandbox", "--force"]).status, 0)
        // The deploy's lock is stamped when it took it, not when it began to wait, with its heartbeat.
        var taken: RemoteState.LockOwner?
        for _ in 0..<200 where deploy.isRunning && taken == nil {
            taken = (try? Data(contentsOf: URL(fileURLWithPath: "\(stateFolder)/lock/owner.json"))).flatMap {
                try? JSONDecoder().decode(RemoteState.LockOwner.self, from: $0)
            }
            if taken == nil { usleep(50_000) }
        }
        let stamped = try XCTUnwrap(taken?.acquired, "the deploy took the lock")
        XCTAssertGreaterThanOrEqual(stamped.timeIntervalSince1970, released.timeIntervalSince1970.rounded(.down) - 1, "\(stamped) vs \(released)")
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        deploy.waitUntilExit()
        XCTAssertEqual(deploy.terminationStatus, 0, stderr)
        XCTAssertTrue(stderr.contains("waiting up to") && stderr.contains("\"the deploy before\""), stderr)
        try assertOneHealthyApp("sandbox-2")
    }

    func testPreflightRefusesAMissingEnvFileAndATooSmallBackupDisk() throws {
        // A tag the host has never seen: the push, started before preflight, must load and tag nothing.
        let image = "tme-portal-server:refused-\(UUID().uuidString.prefix(6).lowercased())"
        let localDocker = ["-H", "unix://\(sandbox["SANDBOX_LOCAL_DOCKER_SOCKET"])"]
        XCTAssertEqual(try ProcessRunner.run("/usr/bin/docker", localDocker + ["tag", "tme-portal-server:sandbox-2", image]).status, 0)
        defer { _ = try? ProcessRunner.run("/usr/bin/docker", localDocker + ["rmi", image]) }
        try editConfig { $0.replacingOccurrences(of: "env_file: /home/tme-user/.env", with: "env_file: /home/tme-user/.env.missing") }
        var result = try tmeops(["deploy", "-e", "sandbox", "--image", image])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("app.env_file /home/tme-user/.env.missing does not exist"), result.stderr)
        try editConfig {
            $0.replacingOccurrences(of: "env_file: /home/tme-user/.env.missing", with: "env_file: /home/tme-user/.env")
                .replacingOccurrences(of: "dir: /home/tme-user/backups", with: "dir: \(sandbox["SANDBOX_SMALL_DIR"])/deploy-backups")
        }
        result = try tmeops(["deploy", "-e", "sandbox", "--image", image])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("the backup needs about"), result.stderr)
        XCTAssertEqual(try tmeops(["releases", "-e", "sandbox"]).stdout, "no releases recorded yet\n", "a refused deploy changes nothing")
        XCTAssertNotEqual(try sandbox.docker(["image", "inspect", image]).status, 0, "nor does it push the image to the host")
        try assertOneHealthyApp("sandbox-1")
    }

    /// Requests to the published port every 10 ms from inside the sandbox's namespace until `stop` exists.
    func startProber(_ log: URL, stop: URL) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        process.arguments = [
            "--net=\(sandbox["SANDBOX_NETNS"])", "bash", "-c",
            #"while [ ! -e "$1" ]; do if curl -fsS --max-time 1 -o /dev/null http://127.0.0.1:80/api/health; then echo ok; else echo fail; fi; sleep 0.01; done > "$2" 2>/dev/null"#,
            "prober", stop.path, log.path,
        ]
        try process.run()
        return process
    }

    func testProxyStrategySwitchesWithoutAFailedRequestAndRecovers() throws {
        try editConfig { $0.replacingOccurrences(of: "strategy: replace", with: "strategy: proxy") }
        var result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("swap (proxy)"), result.stdout)
        try assertOneHealthyApp("sandbox-2")
        let all = try sandbox.docker(["ps", "--format", "{{.Names}} {{.Ports}}"]).stdout
        XCTAssertTrue(all.contains("\(sandbox["SANDBOX_APP_CONTAINER"])-proxy 0.0.0.0:80->3000/tcp"), "the proxy holds the port now: \(all)")

        let log = project.appendingPathComponent("probe.log")
        let stop = project.appendingPathComponent("probe.stop")
        let prober = try startProber(log, stop: stop)
        Thread.sleep(forTimeInterval: 0.5)
        result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-1"])
        Thread.sleep(forTimeInterval: 0.5)
        FileManager.default.createFile(atPath: stop.path, contents: nil)
        prober.waitUntilExit()
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let probes = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(probes.count, 50)
        XCTAssertEqual(probes.filter { $0 == "fail" }.count, 0, "no request may fail during a proxy switch (of \(probes.count))")
        try assertOneHealthyApp("sandbox-1")

        for point in ["swap.before-switch", "swap.after-switch"] {
            let killed = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"], environment: ["TMEOPS_FAULT_AT": point])
            XCTAssertEqual(killed.status, 9, "\(point): \(killed.stdout) \(killed.stderr)")
            let recovered = try tmeops(["recover", "-e", "sandbox"])
            XCTAssertEqual(recovered.status, 0, "\(point): \(recovered.stdout) \(recovered.stderr)")
            try assertOneHealthyApp(point == "swap.before-switch" ? "sandbox-1" : "sandbox-2")
        }
    }

    /// `deploy --image X:tag` moves `X:tag` on the server only once the release passed its gates: a
    /// release refused by its test instance leaves the tag where it was (a compose file or a restart
    /// policy that starts the app by that tag never gets an untested image).
    func testTheOperatorsTagMovesOnTheServerOnlyOnceTheReleasePassedItsGates() throws {
        let tag = "tme-portal-server:gates-\(UUID().uuidString.prefix(6).lowercased())"
        let local = { (arguments: [String]) in try ProcessRunner.run("/usr/bin/docker", ["-H", "unix://\(self.localDockerSocket)"] + arguments) }
        defer {
            _ = try? local(["rmi", tag])
            _ = try? sandbox.docker(["rmi", tag])
        }
        XCTAssertEqual(try local(["tag", "tme-portal-server:sandbox-3", tag]).status, 0)
        let refused = try tmeops(["deploy", "-e", "sandbox", "--image", tag])
        XCTAssertEqual(refused.status, 1, refused.stdout + refused.stderr)
        XCTAssertTrue(refused.stderr.contains("the test instance of \(tag) failed"), refused.stderr)
        XCTAssertNotEqual(try sandbox.docker(["image", "inspect", tag]).status, 0, "the server has no \(tag) yet")

        XCTAssertEqual(try local(["tag", "tme-portal-server:sandbox-2", tag]).status, 0)
        let deployed = try tmeops(["deploy", "-e", "sandbox", "--image", tag])
        XCTAssertEqual(deployed.status, 0, deployed.stdout + deployed.stderr)
        let running = try sandbox.docker(["inspect", "-f", "{{.Image}}", sandbox["SANDBOX_APP_CONTAINER"]]).stdout
        XCTAssertEqual(try sandbox.docker(["image", "inspect", "-f", "{{.Id}}", tag]).stdout, running, "the release passed: \(tag) names it")
    }

    /// SIGKILL at three representative points (migrations applied, production stopped, the swap cut
    /// between its renames; every point is covered by `RecoveryPlanTests`); `recover` must leave one
    /// healthy production container, a free lock, no leftovers and every row in place.
    func testRecoverAfterSIGKILLAtRepresentativeSteps() throws {
        let rowsBefore = try rows()
        let points = ["migrate-apply.done", "swap.after-stop", "swap.after-rename"]
        for point in points {
            let killed = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"], environment: ["TMEOPS_FAULT_AT": point])
            XCTAssertEqual(killed.status, 9, "\(point): the deploy should have been killed: \(killed.stdout) \(killed.stderr)")
            let refused = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
            XCTAssertEqual(refused.status, 1, point)
            XCTAssertTrue(refused.stderr.contains("run `tmeops recover -e sandbox` first"), "\(point): \(refused.stderr)")
            let recovered = try tmeops(["recover", "-e", "sandbox"])
            XCTAssertEqual(recovered.status, 0, "\(point): \(recovered.stdout) \(recovered.stderr)")
            let apps = try containers()
            XCTAssertEqual(apps.count, 1, "\(point): \(apps)")
            XCTAssertTrue(apps.first?.contains(" Up ") ?? false, "\(point): \(apps)")
            XCTAssertEqual(try tmeops(["validate", "health", "-e", "sandbox", "--attempts", "3"]).status, 0, point)
            XCTAssertEqual(try tmeops(["lock", "status", "-e", "sandbox"]).stdout, "the deploy lock is free\n", point)
            XCTAssertEqual(try rows(), rowsBefore, "\(point): no data lost")
            // The ledger says what serves: the swap cut between its renames is finished, the others undone.
            let releases = try JSONSerialization.jsonObject(with: Data(try tmeops(["releases", "-e", "sandbox", "--json"]).stdout.utf8)) as? [[String: Any]]
            XCTAssertEqual(releases?.last?["outcome"] as? String, point == "swap.after-rename" ? "recovered" : "rolled back", point)
        }
    }
}

/// The swap's own health gate, on an image that gets past no test instance: production is restored.
final class SwapRollbackSerial: XCTestCase {
    func testAContainerThatFailsItsHealthGateAfterTheSwapIsReplacedByTheOldOne() async throws {
        let sandbox = try Sandbox.require()
        XCTAssertEqual(try ProcessRunner.run("/bin/bash", [Sandbox.script, "seed"]).status, 0)
        let harness = try TestHarness(environment: ["HOME": NSHomeDirectory(), "DOCKER_HOST": "unix://\(sandbox["SANDBOX_LOCAL_DOCKER_SOCKET"])"])
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
        let pushed = try TMEOpsBinary.run(
            ["image", "push", "tme-portal-server:sandbox-3", "-e", "sandbox"], in: harness.directory,
            environment: ["DOCKER_HOST": "unix://\(sandbox["SANDBOX_LOCAL_DOCKER_SOCKET"])"])
        XCTAssertEqual(pushed.status, 0, pushed.stderr)
        let context = harness.context(options: try GlobalOptions.parse(["-e", "sandbox"]))
        let (config, environment) = try context.loadEnvironment()
        let target = try DeployTarget(context: context, config: config, environment: environment)
        defer { target.close() }
        var phases: [String] = []
        XCTAssertThrowsError(try target.swap(image: "tme-portal-server:sandbox-3", release: "r-swap-test") { phase, _ in phases.append(phase) }) { error in
            XCTAssertEqual((error as? DeployError)?.production, .putBack, "\(error)")
            XCTAssertTrue("\(error)".contains("failed its health gate"), "\(error)")
            XCTAssertTrue("\(error)".contains("the old container was started again and is healthy"), "\(error)")
            XCTAssertTrue(((error as? DeployError)?.evidence ?? []).contains { $0.contains("violates check constraint") }, "its own log lines: \(error)")
        }
        XCTAssertEqual(phases, ["created", "restored"], "recorded after production was restored, not before")
        let names = try sandbox.docker(["ps", "-a", "--format", "{{.Names}} {{.Image}}"]).stdout
        XCTAssertTrue(names.contains("\(sandbox["SANDBOX_APP_CONTAINER"]) tme-portal-server:sandbox-1"), names)
        XCTAssertFalse(names.contains("-old") || names.contains("-new"), names)
    }
}

/// Hooks, and an SSH connection cut in the middle of the image push.
final class DeployFaultSerial: SeededDeployProject {
    override var projectPrefix: String { "tmeops-deploy-faults" }

    func appImage() throws -> String {
        try sandbox.docker(["inspect", "-f", "{{.Config.Image}}", sandbox["SANDBOX_APP_CONTAINER"]]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testHooksSeeTheReleaseAndAFailingPreSwapHookStopsBeforeProductionChanges() throws {
        let hooks = project.appendingPathComponent(".tmeops/hooks")
        try FileManager.default.createDirectory(at: hooks, withIntermediateDirectories: true)
        let seen = project.appendingPathComponent("hook.env")
        try Data("#!/bin/sh\nenv | grep '^TMEOPS_' | sort > \(seen.path)\n".utf8).write(to: hooks.appendingPathComponent("pre-deploy"))
        try Data("#!/bin/sh\necho 'smoke test of the staging site failed' >&2\nexit 1\n".utf8).write(to: hooks.appendingPathComponent("pre-swap"))
        for hook in ["pre-deploy", "pre-swap"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hooks.appendingPathComponent(hook).path)
        }
        let before = try appImage()
        let result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("hook .tmeops/hooks/pre-swap failed (exit 1)"), result.stderr)
        let env = try String(contentsOf: seen, encoding: .utf8)
        XCTAssertTrue(env.contains("TMEOPS_ENV=sandbox\n"), env)
        XCTAssertTrue(env.contains("TMEOPS_IMAGE=tme-portal-server:sandbox-2\n"), env)
        XCTAssertTrue(env.contains("TMEOPS_RELEASE=r-"), env)
        XCTAssertEqual(try appImage(), before, "production still runs the old image")
        let status = try tmeops(["migrate", "status", "-e", "sandbox"])
        XCTAssertTrue(status.stdout.hasPrefix("sandbox: 9 applied, 5 pending"), "no migration was applied: \(status.stdout)")
        XCTAssertEqual(try tmeops(["lock", "status", "-e", "sandbox"]).stdout, "the deploy lock is free\n")
    }

    func testAnSSHConnectionCutDuringThePushLeavesProductionUntouched() throws {
        // A release with a 40 MB layer, so the push lasts long enough to be cut.
        let context = try TemporaryDirectory.make(prefix: "tmeops-big")
        defer { try? FileManager.default.removeItem(at: context) }
        try Data("FROM \(sandbox["SANDBOX_APP_IMAGE"])\nUSER root\nRUN head -c 41943040 /dev/urandom > /app/big.bin\nUSER app\n".utf8)
            .write(to: context.appendingPathComponent("Dockerfile"))
        var env = ProcessInfo.processInfo.environment
        env["DOCKER_HOST"] = "unix://\(sandbox["SANDBOX_LOCAL_DOCKER_SOCKET"])"
        let built = try ProcessRunner.run("/usr/bin/docker", ["build", "-q", "--no-cache", "-t", "tme-portal-server:cut-test", context.path], environment: env)
        XCTAssertEqual(built.status, 0, built.stderr)
        let before = try appImage()
        let folder = "\(stateFolder)/open"
        let cutter = Thread {
            for _ in 0..<3000 {
                let open = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).map { "\(folder)/\($0)" }
                if open.contains(where: { ((try? String(contentsOfFile: $0, encoding: .utf8)) ?? "").contains(#""step":"image""#) }) {
                    Thread.sleep(forTimeInterval: 0.05)
                    _ = try? Sandbox.cutSSHConnections()
                    return
                }
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        cutter.start()
        let result = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:cut-test"])
        XCTAssertNotEqual(result.status, 0, result.stdout)
        XCTAssertEqual(try appImage(), before, "production still runs the old image")
        let recovered = try tmeops(["recover", "-e", "sandbox"])
        XCTAssertEqual(recovered.status, 0, recovered.stdout + recovered.stderr)
        XCTAssertEqual(try tmeops(["validate", "health", "-e", "sandbox", "--attempts", "3"]).status, 0)
        let again = try tmeops(["deploy", "-e", "sandbox", "--image", "tme-portal-server:sandbox-2"])
        XCTAssertEqual(again.status, 0, again.stdout + again.stderr)
    }
}

/// `test-instance up -e development`: an image on this machine's engine against the development database.
final class LocalTestInstanceSerial: XCTestCase {
    func testAGoodImagePassesABrokenOneShowsItsLogsAndDownRemovesIt() throws {
        let sandbox = try Sandbox.require()
        let project = try TemporaryDirectory.make(prefix: "tmeops-local-test")
        defer { try? FileManager.default.removeItem(at: project) }
        XCTAssertEqual(try ProcessRunner.run("/bin/bash", [Sandbox.script, "config", "--write", project.path]).status, 0)
        let env = ["DOCKER_HOST": "unix://\(sandbox["SANDBOX_LOCAL_DOCKER_SOCKET"])"]
        var result = try TMEOpsBinary.run(
            ["test-instance", "up", "-e", "development", "--image", "tme-portal-server:sandbox-2"], in: project, environment: env)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("✓ test instance healthy"), result.stdout)
        var docker = ProcessInfo.processInfo.environment
        docker["DOCKER_HOST"] = env["DOCKER_HOST"]
        let inspect = try ProcessRunner.run("/usr/bin/docker", ["inspect", "tme-portal-development-test"], environment: docker)
        XCTAssertFalse(inspect.stdout.contains(try sandbox.secret("dev_db_password")), "the database password is not in docker inspect")
        result = try TMEOpsBinary.run(["test-instance", "up", "-e", "development", "--image", "tme-portal-server:sandbox-3"], in: project, environment: env)
        XCTAssertEqual(result.status, 3, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("violates check constraint"), "its logs are shown: \(result.stdout)")
        result = try TMEOpsBinary.run(["test-instance", "down", "-e", "development"], in: project, environment: env)
        XCTAssertEqual(result.stdout, "removed tme-portal-development-test\n")
    }
}
