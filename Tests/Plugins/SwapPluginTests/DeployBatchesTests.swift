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
        XCTAssertNil(defaults.batchWait, "unset: the balancer's settle time where ports closed")
        let set = try load("{ batch: 2, batch_wait: 5s }")
        XCTAssertEqual(set.batch, .hosts(2))
        XCTAssertEqual(set.batchWait?.seconds, 5)
        XCTAssertEqual(try load("{ batch: \"34%\" }").batch, .percent(34))
        XCTAssertThrowsError(try load("{ batch: 0 }")) { error in
            XCTAssertTrue("\(error)".hasPrefix("tmeops.yml:5:"), "\(error)")
            XCTAssertTrue("\(error)".contains("environments.production.deploy.batch: must be 1 or more hosts"), "\(error)")
        }
        XCTAssertThrowsError(try load("{ batch: half }")) { error in
            XCTAssertTrue("\(error)".contains("deploy.batch: 'half' is neither a number of hosts"), "\(error)")
        }
    }

    /// After a batch whose servers' ports went unanswered, the next waits until a balancer at its
    /// defaults takes them back (nginx's fail_timeout is 10 s); after a proxy reload it need not wait;
    /// `deploy.batch_wait` always wins.
    func testTheWaitBetweenBatchesCoversABalancersDefaults() {
        XCTAssertGreaterThan(BalancerSettle.wait(configured: nil, portsClosed: true), 10)
        XCTAssertEqual(BalancerSettle.wait(configured: nil, portsClosed: false), 0)
        XCTAssertEqual(BalancerSettle.wait(configured: ConfigDuration(seconds: 2), portsClosed: true), 2)
        XCTAssertEqual(BalancerSettle.wait(configured: ConfigDuration(seconds: 0), portsClosed: true), 0)
        let plan = BalancerSettle.plan(configured: nil, batches: 3, portsClose: true)
        XCTAssertTrue(plan.contains("22s in all"), plan)
        XCTAssertEqual(BalancerSettle.plan(configured: nil, batches: 1, portsClose: true), "")
    }
}
