import Foundation
import SwarmPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsTestSupport
import XCTest

@testable import tmeops

/// The swarm section, the service spec tmeops writes and the env secret's text: pure logic, no swarm.
final class SwarmPluginTests: XCTestCase {
    func load(_ environment: String) throws -> EnvironmentConfig {
        let harness = try TestHarness()
        try registerPlugins(into: harness.registry)
        try harness.write("tmeops.yml", "app: demo\nimage: demo-server\nenvironments:\n  production:\n\(environment)")
        return try harness.context.loadConfig(selecting: .all).environment("production")
    }

    let hosts = "    ssh: { hosts: [10.0.0.11, 10.0.0.12, 10.0.0.13], user: deploy }\n"

    func testTheSwarmSectionHasDefaultsAndItsManagerMustBeOneOfTheHosts() throws {
        let environment = try load(hosts + "    deploy: { strategy: swarm }\n    swarm: { manager: 10.0.0.12 }\n")
        let swarm = try XCTUnwrap(environment.section(SwarmConfig.self))
        XCTAssertEqual(swarm.service, "app")
        XCTAssertEqual(swarm.network, "app_overlay")
        XCTAssertEqual(swarm.front, .proxy)
        XCTAssertEqual(swarm.replicaCount(hosts: 3), 3, "one replica per host unless replicas says")
        XCTAssertEqual(swarm.update, SwarmConfig.Update(parallelism: 1, order: "start-first", monitor: 5, failureAction: "rollback"))
        XCTAssertThrowsError(try load(hosts + "    swarm: { manager: 10.0.0.99 }\n")) { error in
            XCTAssertTrue("\(error)".contains("swarm.manager"), "\(error)")
            XCTAssertTrue("\(error)".contains("'10.0.0.99' is not one of environments.production.ssh.hosts"), "\(error)")
        }
    }

    func testBadSwarmValuesAreNamedAtTheirKey() throws {
        let cases = [
            "swarm: { service: tme }": "swarm.manager",
            "swarm: { manager: 10.0.0.11, replicas: 0 }": "swarm.replicas",
            "swarm: { manager: 10.0.0.11, front: traefik }": "swarm.front",
            "swarm: { manager: 10.0.0.11, update: { order: random } }": "swarm.update.order",
            "swarm: { manager: 10.0.0.11, update: { failure_action: continue } }": "swarm.update.failure_action",
            "swarm: { manager: 10.0.0.11, update: { parallelism: 0 } }": "swarm.update.parallelism",
            "swarm: { manager: 10.0.0.11, service: '-x' }": "swarm.service",
        ]
        for (yaml, key) in cases {
            XCTAssertThrowsError(try load(hosts + "    \(yaml)\n"), yaml) { error in
                XCTAssertTrue("\(error)".contains("environments.production.\(key)"), "\(yaml): \(error)")
            }
        }
    }

    func testAStrategySwarmWithoutASwarmSectionIsRefusedByTheDeploy() throws {
        let environment = try load(hosts + "    deploy: { strategy: swarm }\n")
        XCTAssertNil(environment.section(SwarmConfig.self))
        XCTAssertThrowsError(try SwarmConfig.of(environment)) { error in
            XCTAssertTrue("\(error)".contains("has no swarm section"), "\(error)")
        }
    }

    func spec(imageHasHealthcheck: Bool = false) -> SwarmAppSpec {
        SwarmAppSpec(
            service: "tme-portal", environment: "production", release: "r-20261202-101500", imageID: "sha256:abc", imageRef: "tme:v2",
            command: ["/bin/python3", "/app/server.py"], secret: ("sid", "tme-portal-env-r-20261202-101500"),
            health: HealthConfig(path: "/api/health", port: 3000, attempts: 10, interval: 1), imageHasHealthcheck: imageHasHealthcheck, replicas: 3,
            update: SwarmConfig.Update(), network: "tme_overlay", stopGrace: 3,
            volumes: [VolumeSpec("/srv/uploads:/app/uploads")!, VolumeSpec("data:/app/data:ro")!])
    }

    func testTheServiceSpecRunsTheImageByIDBehindTheEnvWrapperWithNoSecretInIt() throws {
        let document = spec().document
        let container = try XCTUnwrap(document["TaskTemplate"]?["ContainerSpec"])
        XCTAssertEqual(container["Image"]?.string, "sha256:abc", "by ID: every node holds it, and an ID cannot move")
        XCTAssertEqual(container["Command"]?.array?.compactMap(\.string), ["/bin/sh", "-c", SwarmAppSpec.wrapper, "tmeops-env"])
        XCTAssertEqual(container["Args"]?.array?.compactMap(\.string), ["/bin/python3", "/app/server.py"])
        XCTAssertNil(container["Env"], "variables travel in the secret only")
        XCTAssertEqual(container["Secrets"]?.array?.first?["SecretName"]?.string, "tme-portal-env-r-20261202-101500")
        XCTAssertEqual(container["Labels"]?["tmeops.release"]?.string, "r-20261202-101500")
        XCTAssertEqual(container["StopGracePeriod"]?.number, 3e9)
        XCTAssertEqual(container["Mounts"]?.array?.map { $0["Type"]?.string ?? "" }, ["bind", "volume"])
        XCTAssertEqual(container["Mounts"]?.array?.last?["ReadOnly"]?.bool, true)
        let test = container["Healthcheck"]?["Test"]?.array?.compactMap(\.string) ?? []
        XCTAssertEqual(test.first, "CMD-SHELL")
        XCTAssertTrue(test.last?.contains("wget -q -O /dev/null http://127.0.0.1:3000/api/health") == true, "\(test)")
        XCTAssertEqual(container["Healthcheck"]?["Retries"]?.number, 10)
        XCTAssertNil(spec(imageHasHealthcheck: true).document["TaskTemplate"]?["ContainerSpec"]?["Healthcheck"], "the image's own check is kept")
        XCTAssertEqual(document["EndpointSpec"]?["Mode"]?.string, "dnsrr", "no IPVS needed")
        XCTAssertEqual(document["Mode"]?["Replicated"]?["Replicas"]?.number, 3)
        XCTAssertEqual(document["UpdateConfig"]?["Order"]?.string, "start-first")
        XCTAssertEqual(document["UpdateConfig"]?["FailureAction"]?.string, "rollback")
        XCTAssertEqual(document["RollbackConfig"]?["FailureAction"]?.string, "pause")
        XCTAssertEqual(document["TaskTemplate"]?["Networks"]?.array?.first?["Target"]?.string, "tme_overlay")
        XCTAssertNil(document["EndpointSpec"]?["Ports"], "the app's tasks publish nothing: the front door holds the port")
    }

    func testTheEnvSecretQuotesEveryValueAndRefusesAKeyAShellCannotExport() throws {
        let text = String(
            decoding: try SwarmAppSpec.secretText(
                [("DATABASE_URL", "postgresql://u:p@db/x"), ("QUOTE", "it's $HOME `x`"), ("EMPTY", "")], source: "h:/srv/.env"), as: UTF8.self)
        XCTAssertEqual(text, "DATABASE_URL='postgresql://u:p@db/x'\nQUOTE='it'\\''s $HOME `x`'\nEMPTY=''\n")
        XCTAssertThrowsError(try SwarmAppSpec.secretText([("my.key", "secret-value")], source: "h:/srv/.env")) { error in
            XCTAssertTrue("\(error)".contains("h:/srv/.env: variable 'my.key'"), "\(error)")
            XCTAssertFalse("\(error)".contains("secret-value"), "never the value")
        }
        let run = Process()
        run.executableURL = URL(fileURLWithPath: "/bin/sh")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tmeops-env-\(UUID().uuidString)")
        try Data(text.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let pipe = Pipe()
        run.standardOutput = pipe
        run.arguments = ["-c", "set -a; . \(file.path); set +a; exec \"$@\"", "tmeops-env", "/usr/bin/env"]
        try run.run()
        run.waitUntilExit()
        let env = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(env.contains("QUOTE=it's $HOME `x`\n"), "the wrapper exports the values unchanged: \(env)")
        XCTAssertTrue(env.contains("DATABASE_URL=postgresql://u:p@db/x\n"), env)
    }

    func testANodeMissingFromTheNetworkPeersIsNamedAndAManagerAt0000IsFoundByItsManagerAddress() throws {
        let nodes =
            try JSONDecoder().decode(
                JSONValue.self,
                from: Data(
                    """
                    [{"ID": "m", "Status": {"Addr": "0.0.0.0"}, "ManagerStatus": {"Addr": "10.0.0.1:2377"}},
                     {"ID": "w1", "Status": {"Addr": "10.0.0.2"}},
                     {"ID": "w2", "Status": {"Addr": "10.0.0.3"}}]
                    """.utf8)
            ).array ?? []
        let hosts = [(name: "one", nodeID: "m"), (name: "two", nodeID: "w1"), (name: "three", nodeID: "w2")]
        XCTAssertEqual(SwarmCluster.withoutNetworkAgent(hosts: hosts, nodes: nodes, peers: ["10.0.0.1", "10.0.0.2", "10.0.0.3"]), [])
        XCTAssertEqual(SwarmCluster.withoutNetworkAgent(hosts: hosts, nodes: nodes, peers: ["10.0.0.1", "10.0.0.3"]), ["two"])
        XCTAssertEqual(SwarmCluster.withoutNetworkAgent(hosts: hosts, nodes: nodes, peers: ["10.0.0.2", "10.0.0.3"]), ["one"])
        // A host that is no node yet is for the node checks to name, not this one.
        XCTAssertEqual(SwarmCluster.withoutNetworkAgent(hosts: [(name: "four", nodeID: "x")], nodes: nodes, peers: []), [])
    }

    func testTheFrontDoorIsGlobalPublishesInHostModeAndResolvesTheTasks() throws {
        let publish = [try PortMapping(parsing: "8090:3000")]
        let conf = SwarmFront.nginxConfig(service: "tme-portal", publish: publish)
        XCTAssertTrue(conf.contains("resolver 127.0.0.11 valid=1s"), conf)
        XCTAssertTrue(conf.contains("set $tmeops_tasks tasks.tme-portal;"), conf)
        XCTAssertTrue(conf.contains("proxy_pass http://$tmeops_tasks:3000;"), conf)
        XCTAssertTrue(conf.contains("listen 3000;"), conf)
        let document = SwarmFront.document(
            name: "tme-portal-front", service: "tme-portal", image: "nginx:stable", network: "tme_overlay", publish: publish,
            config: ("cid", "tme-portal-front-abc"),
            environment: "production")
        XCTAssertNotNil(document["Mode"]?["Global"])
        let port = try XCTUnwrap(document["EndpointSpec"]?["Ports"]?.array?.first)
        XCTAssertEqual(port["PublishMode"]?.string, "host")
        XCTAssertEqual(port["PublishedPort"]?.number, 8090)
        XCTAssertEqual(port["TargetPort"]?.number, 3000)
        XCTAssertEqual(document["UpdateConfig"]?["Order"]?.string, "stop-first", "two tasks cannot hold one host port")
        XCTAssertEqual(
            document["TaskTemplate"]?["Placement"]?["Constraints"]?.array?.first?.string, "node.labels.tmeops.front.tme-portal == true",
            "a node gets its front door when tmeops labels it, after its plain container gave up the port")
    }
}
