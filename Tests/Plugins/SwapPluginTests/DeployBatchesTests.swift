import Foundation
import TMEOpsCore
import TMEOpsTestSupport
import XCTest

@testable import SwapPlugin
@testable import tmeops

/// `deploy.batch` and `deploy.batch_wait`: how a deploy to several hosts cuts its swap into batches.
final class DeployBatchesTests: XCTestCase {
    func testBatchesFollowTheHostOrder() {
        let hosts = ["a", "b", "c", "d", "e"]
        XCTAssertEqual(DeployBatches.plan(hosts, size: .hosts(1)), [["a"], ["b"], ["c"], ["d"], ["e"]])
        XCTAssertEqual(DeployBatches.plan(hosts, size: .hosts(2)), [["a", "b"], ["c", "d"], ["e"]])
        XCTAssertEqual(DeployBatches.plan(hosts, size: .hosts(9)), [hosts], "more than there are: one batch")
        XCTAssertEqual(DeployBatches.plan(hosts, size: .percent(34)), [["a", "b"], ["c", "d"], ["e"]], "34% of 5 is 1.7: rounded up")
        XCTAssertEqual(DeployBatches.plan(hosts, size: .percent(1)), hosts.map { [$0] }, "never less than one host")
        XCTAssertEqual(DeployBatches.plan(["a", "b", "c"], size: .percent(100)), [["a", "b", "c"]])
        XCTAssertEqual(DeployBatches.plan([String](), size: .hosts(1)), [])
        XCTAssertEqual(DeployBatches.describe([["a"], ["b"]]), "2 batches of 1 host: a → b")
        XCTAssertEqual(DeployBatches.describe([["a", "b"], ["c"]]), "2 batches of up to 2 hosts: [a, b] → c")
    }

    func testSizesParse() {
        XCTAssertEqual(DeployBatches.Size(parsing: "2"), .hosts(2))
        XCTAssertEqual(DeployBatches.Size(parsing: "34%"), .percent(34))
        XCTAssertEqual(DeployBatches.Size(parsing: " 50 % "), .percent(50))
        for bad in ["0", "-1", "0%", "101%", "half", "%", ""] { XCTAssertNil(DeployBatches.Size(parsing: bad), bad) }
    }

    func load(_ deploy: String) throws -> DeployConfig {
        let harness = try TestHarness()
        try registerPlugins(into: harness.registry)
        try harness.write("tmeops.yml", "app: demo\nimage: demo-server\nenvironments:\n  production:\n    deploy: \(deploy)\n")
        return try DeployConfig.of(try harness.context.loadConfig(selecting: .all).environment("production"))
    }

    func testConfig() throws {
        let defaults = try load("{ strategy: replace }")
        XCTAssertEqual(defaults.batch, .hosts(1))
        XCTAssertEqual(defaults.batchWait.seconds, 0)
        let set = try load("{ batch: 2, batch_wait: 5s }")
        XCTAssertEqual(set.batch, .hosts(2))
        XCTAssertEqual(set.batchWait.seconds, 5)
        XCTAssertEqual(try load("{ batch: \"34%\" }").batch, .percent(34))
        XCTAssertThrowsError(try load("{ batch: 0 }")) { error in
            XCTAssertTrue("\(error)".hasPrefix("tmeops.yml:5:"), "\(error)")
            XCTAssertTrue("\(error)".contains("environments.production.deploy.batch: must be 1 or more hosts"), "\(error)")
        }
        XCTAssertThrowsError(try load("{ batch: half }")) { error in
            XCTAssertTrue("\(error)".contains("deploy.batch: 'half' is neither a number of hosts"), "\(error)")
        }
    }
}
