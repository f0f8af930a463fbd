import Foundation

/// Docker Swarm's part of the Engine API (1.41): the swarm itself, nodes, services, tasks, secrets,
/// configs and overlay networks. Answers are kept as `JSONValue` documents: a service's spec is read,
/// changed where tmeops owns a field, and sent back whole, so that nothing tmeops does not model is lost.
extension DockerEngine {
    /// A request with a JSON body (or none) whose JSON answer is returned as a document.
    @discardableResult
    public func json(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil) throws -> JSONValue {
        let data = try data(method, path, query: query, body: try body.map { .json(try JSONEncoder().encode($0)) } ?? .none)
        if data.isEmpty { return .null }
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            // Some answers are a bare JSON string (`POST /swarm/init` answers the node's ID).
            return .string(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    // MARK: The swarm

    /// This engine's view of Swarm, from `GET /info`: its node ID, `LocalNodeState` (inactive, pending,
    /// active, error, locked) and whether it is a manager.
    public func swarmState() throws -> SwarmNodeState {
        let swarm = try info()["Swarm"]
        return SwarmNodeState(
            nodeID: swarm?["NodeID"]?.string ?? "", state: swarm?["LocalNodeState"]?.string ?? "inactive",
            isManager: swarm?["ControlAvailable"]?.bool ?? false, nodeAddress: swarm?["NodeAddr"]?.string ?? "",
            clusterID: swarm?["Cluster"]?["ID"]?.string, error: swarm?["Error"]?.string)
    }

    /// `POST /swarm/init`: makes this engine the first manager; returns its node ID.
    public func initSwarm(advertise address: String) throws -> String {
        var fields: [String: JSONValue] = ["ListenAddr": .string("0.0.0.0:2377")]
        if !address.isEmpty { fields["AdvertiseAddr"] = .string(address) }
        let body: JSONValue = .object(fields)
        return try json("POST", "/swarm/init", body: body).string ?? ""
    }

    /// `POST /swarm/join`: joins the swarm a manager at `manager` (address:port) runs, with `token`.
    public func joinSwarm(manager: String, advertise address: String, token: String) throws {
        var fields: [String: JSONValue] = [
            "ListenAddr": .string("0.0.0.0:2377"), "RemoteAddrs": .array([.string(manager)]), "JoinToken": .string(token),
        ]
        if !address.isEmpty { fields["AdvertiseAddr"] = .string(address) }
        let body: JSONValue = .object(fields)
        try json("POST", "/swarm/join", body: body)
    }

    /// `POST /swarm/leave`.
    public func leaveSwarm(force: Bool) throws { try perform("POST", "/swarm/leave", query: [("force", force ? "1" : "0")]) }

    /// `GET /swarm` (a manager only): the swarm's ID, spec and join tokens. The tokens are secrets: the
    /// caller hands them to `joinSwarm` and nowhere else.
    public func swarm() throws -> JSONValue { try json("GET", "/swarm") }

    // MARK: Nodes

    public func nodes() throws -> [JSONValue] { try json("GET", "/nodes").array ?? [] }

    /// Sets one label on a node (`POST /nodes/{id}/update` with its spec otherwise unchanged).
    public func labelNode(_ node: JSONValue, _ key: String, _ value: String) throws {
        guard let id = node["ID"]?.string, var spec = node["Spec"]?.object else { throw DockerError.protocolError("a node without ID or Spec") }
        var labels = spec["Labels"]?.object ?? [:]
        labels[key] = .string(value)
        spec["Labels"] = .object(labels)
        try json("POST", "/nodes/\(Self.escape(id))/update", query: [("version", "\(Int(node["Version"]?["Index"]?.number ?? 0))")], body: .object(spec))
    }

    public func removeNode(_ id: String, force: Bool) throws {
        try perform("DELETE", "/nodes/\(Self.escape(id))", query: [("force", force ? "1" : "0")])
    }

    /// The nodes whose network agent gossips on `network`, as this engine sees them: each peer's
    /// address (`GET /networks/{name}?verbose=true`, `Peers`); nil when the engine has no such network.
    public func networkPeers(_ network: String) throws -> [String]? {
        do {
            let document = try json("GET", "/networks/\(Self.escape(network))", query: [("verbose", "true")])
            return (document["Peers"]?.array ?? []).compactMap { $0["IP"]?.string }
        } catch let error as DockerError where error.isNotFound {
            return nil
        }
    }

    // MARK: Services and tasks

    /// The service, or nil when there is none of that name or ID.
    public func service(_ name: String) throws -> JSONValue? {
        do {
            return try json("GET", "/services/\(Self.escape(name))")
        } catch let error as DockerError where error.isNotFound {
            return nil
        }
    }

    public func services(filters: [String: [String]] = [:]) throws -> [JSONValue] {
        try json("GET", "/services", query: filters.isEmpty ? [] : [Self.filters(filters)]).array ?? []
    }

    /// `POST /services/create`; returns the new service's ID.
    @discardableResult
    public func createService(_ spec: JSONValue) throws -> String {
        try json("POST", "/services/create", body: spec)["ID"]?.string ?? ""
    }

    /// `POST /services/{id}/update` at the service's `version` (the engine refuses a spec based on an
    /// older one); `rollback` asks Swarm to go back to the service's previous spec instead.
    public func updateService(_ id: String, version: Int, spec: JSONValue, rollback: Bool = false) throws {
        var query = [("version", "\(version)")]
        if rollback { query.append(("rollback", "previous")) }
        try json("POST", "/services/\(Self.escape(id))/update", query: query, body: spec)
    }

    public func removeService(_ name: String) throws { try perform("DELETE", "/services/\(Self.escape(name))") }

    /// The running containers of this node's swarm tasks that tmeops labelled for `environment` (the
    /// app's tasks; a front door's carry no such label), by name.
    public func swarmTaskContainers(environment: String) throws -> [String] {
        try containers(all: false, filters: ["label": ["tmeops.environment=\(environment)", "tmeops.role=app", "com.docker.swarm.task.id"]]).map(\.name)
            .sorted()
    }

    public func tasks(filters: [String: [String]]) throws -> [JSONValue] {
        try json("GET", "/tasks", query: [Self.filters(filters)]).array ?? []
    }

    /// A service's log lines (every task's, through the manager), optionally the last `tail` of them.
    public func serviceLogs(
        _ name: String, since: Int? = nil, tail: Int? = nil, follow: Bool = false, timestamps: Bool = false,
        onOutput: (MultiplexedStreamDecoder.Stream, Data) -> Void
    ) throws {
        var query = [("stdout", "1"), ("stderr", "1"), ("timestamps", timestamps ? "1" : "0"), ("details", "1")]
        if follow { query.append(("follow", "1")) }
        if let since { query.append(("since", "\(since)")) }
        if let tail { query.append(("tail", "\(tail)")) }
        var decoder = MultiplexedStreamDecoder()
        try perform("GET", "/services/\(Self.escape(name))/logs", query: query) { chunk in
            for (stream, data) in try decoder.feed(chunk) { onOutput(stream, data) }
        }
        try decoder.finish()
    }

    /// One task's log lines (`GET /tasks/{id}/logs`), the last `tail` of them.
    public func taskLogs(_ id: String, tail: Int, onOutput: (MultiplexedStreamDecoder.Stream, Data) -> Void) throws {
        var decoder = MultiplexedStreamDecoder()
        try perform("GET", "/tasks/\(Self.escape(id))/logs", query: [("stdout", "1"), ("stderr", "1"), ("tail", "\(tail)")]) { chunk in
            for (stream, data) in try decoder.feed(chunk) { onOutput(stream, data) }
        }
        try decoder.finish()
    }

    // MARK: Secrets and configs

    /// `POST /secrets/create` (or `/configs/create` with `kind` "configs"); returns its ID. The data is
    /// sent base64-encoded in the body, never in a query or a label.
    @discardableResult
    public func createSwarmObject(_ kind: SwarmObjectKind, name: String, data: Data, labels: [String: String]) throws -> String {
        let body: JSONValue = .object([
            "Name": .string(name), "Data": .string(data.base64EncodedString()), "Labels": .object(labels.mapValues { .string($0) }),
        ])
        return try json("POST", "/\(kind.rawValue)/create", body: body)["ID"]?.string ?? ""
    }

    /// The ID of the secret or config named exactly `name` (the engine's name filter also matches
    /// prefixes), or nil.
    public func swarmObjectID(_ kind: SwarmObjectKind, named name: String) throws -> String? {
        try swarmObjects(kind, filters: ["name": [name]]).first { $0["Spec"]?["Name"]?.string == name }?["ID"]?.string
    }

    public func swarmObjects(_ kind: SwarmObjectKind, filters: [String: [String]]) throws -> [JSONValue] {
        try json("GET", "/\(kind.rawValue)", query: [Self.filters(filters)]).array ?? []
    }

    public func removeSwarmObject(_ kind: SwarmObjectKind, _ id: String) throws {
        try perform("DELETE", "/\(kind.rawValue)/\(Self.escape(id))")
    }

    // MARK: Networks

    /// The address of `container` that its host reaches: on its first network by name that is not a
    /// swarm overlay (an overlay address lives inside the swarm, not on the host).
    public func hostReachableAddress(of container: ContainerDetails) throws -> String? {
        for (name, endpoint) in (container.networkSettings.networks ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let address = endpoint.ipAddress, !address.isEmpty else { continue }
            if name == "ingress" || (try? network(name))??.driver == "overlay" { continue }
            return address
        }
        return nil
    }

    /// `POST /networks/create` for an attachable overlay network; returns its ID.
    @discardableResult
    public func createOverlayNetwork(_ name: String, labels: [String: String]) throws -> String {
        let body: JSONValue = .object([
            "Name": .string(name), "Driver": .string("overlay"), "Attachable": .bool(true), "CheckDuplicate": .bool(true),
            "Labels": .object(labels.mapValues { .string($0) }),
        ])
        return try json("POST", "/networks/create", body: body)["Id"]?.string ?? ""
    }
}

/// What an engine says about its own part in a swarm.
public struct SwarmNodeState: Sendable, Equatable {
    public var nodeID: String
    /// `inactive`, `pending`, `active`, `error` or `locked`.
    public var state: String
    public var isManager: Bool
    public var nodeAddress: String
    public var clusterID: String?
    public var error: String?

    public init(nodeID: String, state: String, isManager: Bool, nodeAddress: String, clusterID: String?, error: String?) {
        self.nodeID = nodeID
        self.state = state
        self.isManager = isManager
        self.nodeAddress = nodeAddress
        self.clusterID = clusterID
        self.error = error
    }

    public var inSwarm: Bool { state == "active" }
}

/// Swarm's two kinds of small stored files: secrets (never readable back) and configs.
public enum SwarmObjectKind: String, Sendable {
    case secrets, configs
}
