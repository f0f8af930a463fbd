import Foundation
import TMEOpsCore
import TMEOpsHosts
import TMEOpsTestSupport
import XCTest

@testable import tmeops

/// `ssh.hosts` and `database.host`: an environment of several servers, checked when the config loads.
final class HostConfigTests: XCTestCase {
    func load(_ environment: String) throws -> EnvironmentConfig {
        let harness = try TestHarness()
        try registerPlugins(into: harness.registry)
        try harness.write("tmeops.yml", "app: demo\nimage: demo-server\nenvironments:\n  production:\n\(environment)")
        return try harness.context.loadConfig(selecting: .all).environment("production")
    }

    func testOneHostOrSeveral() throws {
        let one = try load("    ssh: { host: a.example, user: deploy }\n")
        XCTAssertEqual(one.section(SSHConfig.self)?.hosts, ["a.example"])
        let several = try load(
            "    ssh: { hosts: [a.example, b.example, c.example], user: deploy }\n"
                + "    database: { host: b.example, container: db, user: app, name: app }\n")
        XCTAssertEqual(several.section(SSHConfig.self)?.hosts, ["a.example", "b.example", "c.example"])
        XCTAssertEqual(try RemoteHost.host(.first, in: several), "a.example", "the lock and the ledger live on the first host")
        XCTAssertEqual(try RemoteHost.host(.database, in: several), "b.example")
        XCTAssertEqual(try RemoteHost.host(.named("c.example"), in: several), "c.example")
        XCTAssertEqual(try RemoteHost.host(.database, in: try load("    ssh: { hosts: [a, b], user: deploy }\n")), "a", "by default the first")
    }

    func testACommandThatActsOnOneHostRefusesSeveralAndSaysWhatRuns() throws {
        let several = try load("    ssh: { hosts: [a.example, b.example], user: deploy }\n")
        XCTAssertThrowsError(try RemoteHost.host(.only, in: several)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("environments.production.ssh.hosts lists 2 hosts (a.example, b.example)"), text)
            XCTAssertTrue(text.contains("name one with --host H"), text)
            XCTAssertTrue(text.contains("nothing was changed"), text)
            XCTAssertEqual((error as? OperatorError)?.exitStatus, .usage)
        }
        XCTAssertThrowsError(try RemoteHost.host(.named("z.example"), in: several)) { error in
            XCTAssertEqual("\(error)", "'z.example' is not one of environments.production.ssh.hosts (a.example, b.example)")
        }
    }

    func testAProxyJumpIsParsedAndReachesEveryHostThroughTheBastion() throws {
        let environment = try load("    ssh: { hosts: [a, b], user: deploy, proxy_jump: admin@bastion.example:2222 }\n")
        let jump = try XCTUnwrap(environment.section(SSHConfig.self)?.proxyJump)
        XCTAssertEqual([jump.user, jump.host, "\(jump.port)"], ["admin", "bastion.example", "2222"])
        let harness = try TestHarness()
        let options = try RemoteHost.options(for: environment, .named("b"), context: harness.context)
        XCTAssertEqual(options.host, "b")
        XCTAssertEqual(options.jump.map(\.destination), ["admin@bastion.example:2222"])
        XCTAssertEqual(options.jump.first?.knownHosts, options.knownHosts, "the bastion's key is checked in the same known_hosts")
        let plain = try load("    ssh: { host: a, user: deploy, proxy_jump: bastion.example }\n")
        XCTAssertEqual(try RemoteHost.options(for: plain, context: harness.context).jump.map(\.destination), ["deploy@bastion.example:22"])
        for bad in ["'@bastion'", "'bastion:0'", "'bastion:http'", "''"] {
            XCTAssertThrowsError(try load("    ssh: { host: a, user: deploy, proxy_jump: \(bad) }\n"), bad) { error in
                XCTAssertTrue("\(error)".contains("environments.production.ssh.proxy_jump: "), "\(error)")
            }
        }
    }

    func testBadHostListsAreNamedAtTheirKey() throws {
        let cases: [(String, String)] = [
            (
                "    ssh: { host: a, hosts: [a, b], user: u }\n",
                "tmeops.yml:5:28: environments.production.ssh.hosts: set host (one server) or hosts (several), not both"
            ),
            ("    ssh: { hosts: [], user: u }\n", "tmeops.yml:5:19: environments.production.ssh.hosts: needs at least one host"),
            ("    ssh: { hosts: [a, b, a], user: u }\n", "tmeops.yml:5:19: environments.production.ssh.hosts: 'a' is listed twice"),
            ("    ssh: { user: u }\n", "tmeops.yml:5:10: environments.production.ssh.host: needs host: NAME (or hosts: [NAME, ...] for several servers)"),
            (
                "    ssh: { hosts: [a, b], user: u }\n    database: { host: c, container: db, user: app, name: app }\n",
                "tmeops.yml:6:23: environments.production.database.host: 'c' is not one of environments.production.ssh.hosts (a, b)"
            ),
            (
                "    database: { host: a, url: 'postgresql://u@db/app' }\n",
                "tmeops.yml:5:23: environments.production.database.host: a database reached by url is not on one of the environment's hosts; remove host"
            ),
            (
                "    database: { host: a, container: db, user: app, name: app }\n",
                "tmeops.yml:5:23: environments.production.database.host: names a host, and environments.production has no ssh section to reach it; remove host or add ssh"
            ),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try load(text), text) { error in XCTAssertEqual("\(error)", expected, text) }
        }
    }

    /// `transfer.compression`: auto by default; a word it does not know is named at its key.
    func testTransferCompressionIsReadAndCheckedAtItsKey() throws {
        func config(_ text: String) throws -> LoadedConfig {
            let harness = try TestHarness()
            try registerPlugins(into: harness.registry)
            try harness.write("tmeops.yml", "app: demo\nimage: demo-server\n\(text)environments:\n  production: {}\n")
            return try harness.context.loadConfig(selecting: .all)
        }
        XCTAssertNil(try config("").section(TransferConfig.self))
        XCTAssertEqual(try config("transfer: {}\n").section(TransferConfig.self)?.compression, .auto)
        XCTAssertEqual(try config("transfer: { compression: zstd }\n").section(TransferConfig.self)?.compression, .zstd)
        XCTAssertThrowsError(try config("transfer: { compression: fast }\n")) { error in
            XCTAssertEqual("\(error)", "tmeops.yml:3:26: transfer.compression: 'fast' is not one of auto, none, gzip, zstd")
        }
    }
}
