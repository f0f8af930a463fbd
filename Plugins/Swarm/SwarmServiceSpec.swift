import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH

/// The app's Swarm service, as tmeops writes it: everything here is pure (the spec, the env secret's
/// text, the front door's nginx configuration), so it is unit-tested without a swarm.
public struct SwarmAppSpec: Sendable {
    public var service: String
    public var environment: String
    public var release: String
    /// The image by ID: every node already holds it (no registry), and an ID cannot move.
    public var imageID: String
    /// The image's name as the operator gave it (a label, for people).
    public var imageRef: String
    /// The image's entrypoint and command, which the env wrapper execs.
    public var command: [String]
    /// The secret holding the env file (its ID and name).
    public var secret: (id: String, name: String)
    public var health: HealthConfig
    /// The image has a HEALTHCHECK of its own (it is kept; else one is made from `health`).
    public var imageHasHealthcheck: Bool
    public var replicas: Int
    public var update: SwarmConfig.Update
    public var network: String
    public var stopGrace: Double
    public var initProcess: Bool
    public var volumes: [VolumeSpec]
    public var labels: [String: String]
    public var memoryBytes: Int64?
    /// Labels on the service only (not its containers), e.g. how its env file was read.
    public var serviceLabels: [String: String] = [:]
    /// `app` for production's tasks, `test` for the test instance's (whose containers `validate` and
    /// `logs` leave alone).
    public var role = "app"
    /// Ports published in host mode on the task's node (the test instance's; production's tasks publish
    /// nothing, the front door holds the port).
    public var publish: [PortMapping] = []
    /// Placement constraints (`node.id == …`).
    public var constraints: [String] = []

    public init(
        service: String, environment: String, release: String, imageID: String, imageRef: String, command: [String], secret: (id: String, name: String),
        health: HealthConfig, imageHasHealthcheck: Bool, replicas: Int, update: SwarmConfig.Update, network: String, stopGrace: Double,
        initProcess: Bool = true, volumes: [VolumeSpec] = [], labels: [String: String] = [:], memoryBytes: Int64? = nil
    ) {
        self.service = service
        self.environment = environment
        self.release = release
        self.imageID = imageID
        self.imageRef = imageRef
        self.command = command
        self.secret = secret
        self.health = health
        self.imageHasHealthcheck = imageHasHealthcheck
        self.replicas = replicas
        self.update = update
        self.network = network
        self.stopGrace = stopGrace
        self.initProcess = initProcess
        self.volumes = volumes
        self.labels = labels
        self.memoryBytes = memoryBytes
    }

    /// Where the env secret is mounted in each task.
    public static let secretPath = AppEnvFiles.swarmSecret
    /// The wrapper the tasks start with: the secret's variables exported, then the image's own command.
    public static let wrapper = "set -a; . \(secretPath); set +a; exec \"$@\""

    static func nanoseconds(_ seconds: Double) -> JSONValue { .number((seconds * 1e9).rounded()) }
    static func strings(_ values: [String: String]) -> JSONValue { .object(values.mapValues { .string($0) }) }

    /// The health check every task runs: a GET of `health.path` on `health.port`, with whichever of
    /// wget, curl or node the image has.
    public var healthcheck: JSONValue {
        let url = ShellQuote.quote("http://127.0.0.1:\(health.port)\(health.path)")
        let node =
            "node -e \(ShellQuote.quote("require('http').get(process.argv[1],r=>process.exit(r.statusCode==\(health.expectStatus)?0:1)).on('error',()=>process.exit(1))")) \(url)"
        let test = "wget -q -O /dev/null \(url) 2>/dev/null || curl -fsS -o /dev/null \(url) 2>/dev/null || \(node) 2>/dev/null"
        return .object([
            "Test": .array([.string("CMD-SHELL"), .string(test)]), "Interval": Self.nanoseconds(health.interval.seconds),
            "Timeout": Self.nanoseconds(max(3, health.interval.seconds)), "Retries": .number(Double(health.attempts)),
            "StartPeriod": Self.nanoseconds(0),
        ])
    }

    /// The labels that say which release a service (and each of its containers) runs.
    public var releaseLabels: [String: String] {
        [
            "tmeops.release": release, "tmeops.environment": environment, "tmeops.image": imageRef, "tmeops.image-id": imageID, "tmeops.managed": "true",
            "tmeops.role": role,
        ]
    }

    /// The service's whole spec (`POST /services/create`, or the body of an update).
    public var document: JSONValue {
        var container: [String: JSONValue] = [
            "Image": .string(imageID),
            "Command": .array(["/bin/sh", "-c", Self.wrapper, AppEnvFiles.wrapperName].map { .string($0) }),
            "Args": .array(command.map { .string($0) }),
            "Labels": Self.strings(labels.merging(releaseLabels) { $1 }),
            "StopGracePeriod": Self.nanoseconds(stopGrace),
            "Init": .bool(initProcess),
            "Secrets": .array([
                .object([
                    "SecretID": .string(secret.id), "SecretName": .string(secret.name),
                    // Readable by the image's user, whoever it is; the file lives in the task's memory only.
                    "File": .object(["Name": .string("tmeops-env"), "UID": .string("0"), "GID": .string("0"), "Mode": .number(0o444)]),
                ])
            ]),
        ]
        if !imageHasHealthcheck { container["Healthcheck"] = healthcheck }
        if !volumes.isEmpty {
            container["Mounts"] = .array(
                volumes.map { volume in
                    .object([
                        "Type": .string(volume.source.hasPrefix("/") ? "bind" : "volume"), "Source": .string(volume.source),
                        "Target": .string(volume.target), "ReadOnly": .bool(volume.options.contains("ro")),
                    ])
                })
        }
        var template: [String: JSONValue] = [
            "ContainerSpec": .object(container),
            "Networks": .array([.object(["Target": .string(network), "Aliases": .array([.string(service)])])]),
            "RestartPolicy": .object(["Condition": .string("any"), "Delay": Self.nanoseconds(1), "MaxAttempts": .number(0)]),
        ]
        if let memoryBytes { template["Resources"] = .object(["Limits": .object(["MemoryBytes": .number(Double(memoryBytes))])]) }
        if !constraints.isEmpty { template["Placement"] = .object(["Constraints": .array(constraints.map { .string($0) })]) }
        var endpoint: [String: JSONValue] = ["Mode": .string("dnsrr")]
        if !publish.isEmpty { endpoint["Ports"] = .array(SwarmFront.hostModePorts(publish)) }
        let policy: [String: JSONValue] = [
            "Parallelism": .number(Double(update.parallelism)), "Delay": Self.nanoseconds(update.delay.seconds),
            "Monitor": Self.nanoseconds(update.monitor.seconds), "Order": .string(update.order), "MaxFailureRatio": .number(0),
        ]
        return .object([
            "Name": .string(service),
            "Labels": Self.strings(serviceLabels.merging(releaseLabels) { $1 }),
            "TaskTemplate": .object(template),
            "Mode": .object(["Replicated": .object(["Replicas": .number(Double(replicas))])]),
            "UpdateConfig": .object(policy.merging(["FailureAction": .string(update.failureAction)]) { $1 }),
            "RollbackConfig": .object(policy.merging(["FailureAction": .string("pause")]) { $1 }),
            // No virtual IP (kernels without IPVS have none); the front door resolves tasks.SERVICE itself.
            "EndpointSpec": .object(endpoint),
        ])
    }

    /// The env secret's text: each variable as `KEY='value'`, read by the wrapper's `.` with `set -a`.
    /// A key the shell cannot assign is refused, naming it (never its value).
    public static func secretText(_ variables: [(key: String, value: String)], source: String) throws -> Data {
        var lines: [String] = []
        for (key, value) in variables {
            guard let first = key.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic),
                key.unicodeScalars.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) })
            else {
                throw TMEOpsError.usage(
                    "\(source): variable '\(key)' cannot be exported by a shell (letters, digits and _ only, not starting with a digit), which a swarm task's env wrapper needs; rename it"
                )
            }
            lines.append("\(key)='\(value.replacingOccurrences(of: "'", with: "'\\''"))'")
        }
        return Data((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// A secret's name for a release: Swarm secrets cannot change, so each release gets its own.
    public static func secretName(service: String, release: String) -> String { "\(service)-env-\(release)" }
}

/// The front door: nginx on every node, on the app's published ports, forwarding to the tasks.
public enum SwarmFront {
    /// nginx configuration: each published port forwarded to `tasks.SERVICE` on the app's port, the name
    /// resolved by Docker's DNS every second, so that tasks that come and go are followed without a
    /// reload; a refused or timed-out connection is retried on another task.
    public static func nginxConfig(service: String, publish: [PortMapping]) -> String {
        let ports = Set(publish.map(\.containerPort)).sorted()
        let servers = ports.map { port in
            """
                server {
                    listen \(port);
                    location / {
                        set $tmeops_tasks tasks.\(service);
                        proxy_pass http://$tmeops_tasks:\(port);
                        # A task that died leaves an address nothing answers on: give up on it quickly
                        # and try the next (every task once).
                        proxy_next_upstream error timeout http_502 http_503;
                        proxy_next_upstream_tries 0;
                        proxy_connect_timeout 500ms;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                        proxy_set_header Host $host;
                        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                    }
                }
            """
        }.joined(separator: "\n")
        return """
            # Written by tmeops (strategy swarm): the front door of \(service) on this node.
            worker_processes 1;
            pid /tmp/nginx.pid;
            error_log stderr warn;
            events { worker_connections 512; }
            http {
                access_log off;
                resolver 127.0.0.11 valid=1s ipv6=off;
                resolver_timeout 2s;
            \(servers)
            }

            """
    }

    /// The node label that lets the front door run on a node: set node by node, so that a node's plain
    /// app container gives up the port just before its front door takes it (the others keep serving).
    public static func nodeLabel(service: String) -> String { "tmeops.front.\(service)" }

    /// Where the configuration is mounted in the front door's tasks.
    public static let configPath = "/etc/tmeops-front/nginx.conf"

    /// Published ports as a service's endpoint lists them, each on its task's node only (host mode: no
    /// routing mesh, which needs IPVS).
    static func hostModePorts(_ publish: [PortMapping]) -> [JSONValue] {
        publish.map { mapping in
            .object([
                "Protocol": .string(mapping.proto), "TargetPort": .number(Double(mapping.containerPort)),
                "PublishedPort": .number(Double(mapping.hostPort)), "PublishMode": .string("host"),
            ])
        }
    }

    /// The front door's service spec: global (one task per node), each published port in host mode.
    public static func document(
        name: String, service: String, image: String, network: String, publish: [PortMapping], config: (id: String, name: String), environment: String
    ) -> JSONValue {
        let ports = hostModePorts(publish)
        return .object([
            "Name": .string(name),
            "Labels": .object(["tmeops.environment": .string(environment), "tmeops.front": .string("true"), "tmeops.managed": .string("true")]),
            "TaskTemplate": .object([
                "ContainerSpec": .object([
                    "Image": .string(image),
                    "Command": .array(["nginx", "-g", "daemon off;", "-c", configPath].map { .string($0) }),
                    "Configs": .array([
                        .object([
                            "ConfigID": .string(config.id), "ConfigName": .string(config.name),
                            "File": .object(["Name": .string(configPath), "UID": .string("0"), "GID": .string("0"), "Mode": .number(0o444)]),
                        ])
                    ]),
                ]),
                "Networks": .array([.object(["Target": .string(network)])]),
                "RestartPolicy": .object(["Condition": .string("any"), "Delay": SwarmAppSpec.nanoseconds(1)]),
                "Placement": .object(["Constraints": .array([.string("node.labels.\(nodeLabel(service: service)) == true")])]),
            ]),
            "Mode": .object(["Global": .object([:])]),
            // A host port cannot be held by two tasks on one node: the old front task stops first.
            "UpdateConfig": .object(["Parallelism": .number(1), "Order": .string("stop-first"), "FailureAction": .string("pause")]),
            "EndpointSpec": .object(["Mode": .string("dnsrr"), "Ports": .array(ports)]),
        ])
    }
}
