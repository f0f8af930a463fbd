import Foundation
import TMEOpsSSH

/// Typed calls over ``DockerEngine/perform(_:_:query:body:onBody:)``.
extension DockerEngine {
    /// Docker's `filters` query parameter: `{"label":["test=true"],"until":["48h"]}`.
    public static func filters(_ filters: [String: [String]]) -> (String, String) {
        let data = (try? JSONSerialization.data(withJSONObject: filters, options: [.sortedKeys])) ?? Data("{}".utf8)
        return ("filters", String(decoding: data, as: UTF8.self))
    }

    static func escape(_ name: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:@")
        return name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name
    }

    // MARK: System

    public func version() throws -> EngineVersion { try decode(EngineVersion.self, "GET", "/version") }

    /// `GET /info`: the engine's system information (`DockerRootDir`, `Swarm`, …) as a document.
    public func info() throws -> JSONValue { try decode(JSONValue.self, "GET", "/info") }

    /// Which store the engine keeps its images in: `GET /info` names containerd's snapshotter as the
    /// storage driver's type when it uses containerd's image store (Docker Desktop, Docker Engine 29 on,
    /// or `"features": {"containerd-snapshotter": true}`). Asked once per engine.
    public func imageStore() throws -> ImageStore {
        if let known = knownImageStore { return known }
        let info = try self.info()
        let store = Self.imageStore(driverStatus: info["DriverStatus"])
        knownImageStore = store
        return store
    }

    /// The store `GET /info`'s `DriverStatus` (pairs of name and value) describes.
    static func imageStore(driverStatus: JSONValue?) -> ImageStore {
        let pairs = driverStatus?.array ?? []
        let snapshotter = pairs.contains { pair in
            let values = pair.array?.compactMap(\.string) ?? []
            return values.count == 2 && values[0] == "driver-type" && values[1] == "io.containerd.snapshotter.v1"
        }
        return snapshotter ? .containerd : .classic
    }

    /// The engine's platform, `os/architecture` (what an image it runs must be built for).
    public func platform() throws -> String {
        let version = try version()
        return "\(version.os ?? "linux")/\(version.arch ?? "amd64")"
    }

    // MARK: Images

    public func images(filters: [String: [String]] = [:]) throws -> [ImageSummary] {
        try decode([ImageSummary].self, "GET", "/images/json", query: filters.isEmpty ? [] : [Self.filters(filters)])
    }

    /// The image, or nil when the engine does not have it.
    public func image(_ name: String) throws -> ImageDetails? {
        do {
            return try decode(ImageDetails.self, "GET", "/images/\(Self.escape(name))/json")
        } catch let error as DockerError where error.isNotFound {
            return nil
        }
    }

    public func tagImage(_ name: String, repository: String, tag: String) throws {
        try perform("POST", "/images/\(Self.escape(name))/tag", query: [("repo", repository), ("tag", tag)])
    }

    public func removeImage(_ name: String, force: Bool = false) throws {
        try perform("DELETE", "/images/\(Self.escape(name))", query: [("force", force ? "1" : "0")])
    }

    /// `GET /images/{name}/get`: a docker-archive, streamed to `onChunk`.
    public func exportImage(_ name: String, onChunk: (Data) throws -> Void) throws {
        try perform("GET", "/images/\(Self.escape(name))/get", onBody: onChunk)
    }

    /// `POST /images/load`: a docker-archive streamed in; errors the engine reports inside its 200 answer
    /// are thrown. Returns the engine's "Loaded image" lines.
    @discardableResult
    public func loadImage(_ archive: ByteSource, onMessage: (DockerStreamMessage) -> Void = { _ in }) throws -> [String] {
        var loaded: [String] = []
        try progressStream("POST", "/images/load", query: [("quiet", "0")], body: .stream(archive, contentType: "application/x-tar")) { message in
            if let text = message.stream, text.hasPrefix("Loaded image") { loaded.append(text.trimmingCharacters(in: .whitespacesAndNewlines)) }
            onMessage(message)
        }
        return loaded
    }

    /// `POST /images/prune`; returns the IDs the engine deleted.
    public func pruneImages(filters: [String: [String]]) throws -> [String] {
        struct Answer: Decodable {
            struct Deleted: Decodable {
                let deleted: String?
                let untagged: String?
                enum CodingKeys: String, CodingKey {
                    case deleted = "Deleted"
                    case untagged = "Untagged"
                }
            }
            let imagesDeleted: [Deleted]?
            enum CodingKeys: String, CodingKey { case imagesDeleted = "ImagesDeleted" }
        }
        let answer = try decode(Answer.self, "POST", "/images/prune", query: [Self.filters(filters)])
        return (answer.imagesDeleted ?? []).compactMap { $0.deleted ?? $0.untagged }
    }

    /// `POST /build` with a tar build context; streams the build output and returns the image ID.
    public func build(
        context: ByteSource, tags: [String], dockerfile: String = "Dockerfile", buildArgs: [String: String] = [:],
        labels: [String: String] = [:], platform: String? = nil, onOutput: (String) -> Void
    ) throws -> String {
        var query: [(String, String)] = tags.map { ("t", $0) } + [("dockerfile", dockerfile), ("rm", "1"), ("forcerm", "1")]
        if !buildArgs.isEmpty, let data = try? JSONSerialization.data(withJSONObject: buildArgs, options: [.sortedKeys]) {
            query.append(("buildargs", String(decoding: data, as: UTF8.self)))
        }
        if !labels.isEmpty, let data = try? JSONSerialization.data(withJSONObject: labels, options: [.sortedKeys]) {
            query.append(("labels", String(decoding: data, as: UTF8.self)))
        }
        if let platform { query.append(("platform", platform)) }
        var imageID: String?
        try progressStream("POST", "/build", query: query, body: .stream(context, contentType: "application/x-tar")) { message in
            if let text = message.stream { onOutput(text) }
            if let id = message.aux?.id { imageID = id }
        }
        guard let imageID else { throw DockerError.protocolError("POST /build to \(location): the build finished without an image ID") }
        return imageID
    }

    // MARK: Containers

    public func containers(all: Bool = true, filters: [String: [String]] = [:]) throws -> [ContainerSummary] {
        var query = [("all", all ? "1" : "0")]
        if !filters.isEmpty { query.append(Self.filters(filters)) }
        return try decode([ContainerSummary].self, "GET", "/containers/json", query: query)
    }

    /// The container, or nil when there is none of that name or ID.
    public func container(_ name: String) throws -> ContainerDetails? {
        do {
            return try decode(ContainerDetails.self, "GET", "/containers/\(Self.escape(name))/json")
        } catch let error as DockerError where error.isNotFound {
            return nil
        }
    }

    /// The container's whole inspect document, every field as the engine wrote it; nil when there is none.
    public func containerDocument(_ name: String) throws -> JSONValue? {
        do {
            return try decode(JSONValue.self, "GET", "/containers/\(Self.escape(name))/json")
        } catch let error as DockerError where error.isNotFound {
            return nil
        }
    }

    /// The image's whole inspect document; nil when there is none.
    public func imageDocument(_ name: String) throws -> JSONValue? {
        do {
            return try decode(JSONValue.self, "GET", "/images/\(Self.escape(name))/json")
        } catch let error as DockerError where error.isNotFound {
            return nil
        }
    }

    /// One change in a container's writable layer since it was created (`GET /containers/{id}/changes`).
    public struct FileChange: Decodable, Sendable, Equatable {
        public enum Kind: Int, Decodable, Sendable {
            case modified = 0
            case added = 1
            case deleted = 2
        }
        public let path: String
        public let kind: Kind
        enum CodingKeys: String, CodingKey {
            case path = "Path"
            case kind = "Kind"
        }
        public init(path: String, kind: Kind) {
            self.path = path
            self.kind = kind
        }
    }

    /// What the container changed in its own writable layer (files that die with it).
    public func containerChanges(_ name: String) throws -> [FileChange] {
        // The engine answers `null` for a container that changed nothing.
        try decode([FileChange]?.self, "GET", "/containers/\(Self.escape(name))/changes") ?? []
    }

    /// Creates a container; returns its ID.
    public func createContainer(name: String, spec: ContainerSpec) throws -> String {
        try createContainer(name: name, body: JSONValue.of(spec))
    }

    /// Creates a container from a request body built by hand (settings carried over from another one).
    public func createContainer(name: String, body: JSONValue) throws -> String {
        struct Answer: Decodable {
            let id: String
            enum CodingKeys: String, CodingKey { case id = "Id" }
        }
        let data = try JSONEncoder().encode(body)
        return try decode(Answer.self, "POST", "/containers/create", query: [("name", name)], body: .json(data)).id
    }

    public func startContainer(_ name: String) throws { try perform("POST", "/containers/\(Self.escape(name))/start") }

    public func stopContainer(_ name: String, timeout: Int = 10) throws {
        try perform("POST", "/containers/\(Self.escape(name))/stop", query: [("t", "\(timeout)")])
    }

    /// The processes of a running container as the host's `ps` shows them with `psArgs`
    /// (`GET /containers/{id}/top`): each row's fields by the column titles `ps` printed.
    public func processes(_ name: String, psArgs: String) throws -> [[String: String]] {
        struct Top: Decodable {
            let titles: [String]
            let processes: [[String]]
            enum CodingKeys: String, CodingKey {
                case titles = "Titles"
                case processes = "Processes"
            }
        }
        let top = try decode(Top.self, "GET", "/containers/\(Self.escape(name))/top", query: [("ps_args", psArgs)])
        return top.processes.map { Dictionary(zip(top.titles, $0), uniquingKeysWith: { first, _ in first }) }
    }

    public func killContainer(_ name: String, signal: String = "KILL") throws {
        try perform("POST", "/containers/\(Self.escape(name))/kill", query: [("signal", signal)])
    }

    public func renameContainer(_ name: String, to newName: String) throws {
        try perform("POST", "/containers/\(Self.escape(name))/rename", query: [("name", newName)])
    }

    public func removeContainer(_ name: String, force: Bool = false) throws {
        try perform("DELETE", "/containers/\(Self.escape(name))", query: [("force", force ? "1" : "0"), ("v", "0")])
    }

    /// Waits for the container to stop; returns its exit code.
    public func waitContainer(_ name: String) throws -> Int {
        struct Answer: Decodable {
            let statusCode: Int
            enum CodingKeys: String, CodingKey { case statusCode = "StatusCode" }
        }
        return try decode(Answer.self, "POST", "/containers/\(Self.escape(name))/wait").statusCode
    }

    /// Log lines (a non-TTY container's multiplexed stdout and stderr), optionally since a Unix time and
    /// limited to the last `tail` lines.
    public func logs(
        _ name: String, since: Int? = nil, tail: Int? = nil, follow: Bool = false, timestamps: Bool = false,
        onOutput: (MultiplexedStreamDecoder.Stream, Data) -> Void
    ) throws {
        var query = [("stdout", "1"), ("stderr", "1"), ("timestamps", timestamps ? "1" : "0")]
        if follow { query.append(("follow", "1")) }
        if let since { query.append(("since", "\(since)")) }
        if let tail { query.append(("tail", "\(tail)")) }
        var decoder = MultiplexedStreamDecoder()
        try perform("GET", "/containers/\(Self.escape(name))/logs", query: query) { chunk in
            for (stream, data) in try decoder.feed(chunk) { onOutput(stream, data) }
        }
        try decoder.finish()
    }

    /// Runs `argv` in a running container; returns its exit code with stdout and stderr kept apart.
    public func exec(_ container: String, _ argv: [String], environment: [String] = [], user: String? = nil) throws -> (
        exitCode: Int, stdout: Data, stderr: Data
    ) {
        var out = Data()
        var err = Data()
        let code = try execStreaming(
            container, argv, environment: environment, user: user, onStdout: { out.append($0) }, onStderr: { err.append($0) })
        return (code, out, err)
    }

    /// Runs `argv` in a running container, handing its output over as it arrives (a pg_dump of any size
    /// in constant memory); returns the exit code.
    ///
    /// `input`, when given, is the command's standard input: sent once the engine has switched the
    /// connection to a raw stream, then closed, so the command reads it to its end. It is all sent
    /// before the output is read: a command that writes more than the connection buffers before it has
    /// read all of its input would wait (exec -i is for scripts and dumps fed in, not for a conversation).
    public func execStreaming(
        _ container: String, _ argv: [String], environment: [String] = [], user: String? = nil, workingDir: String? = nil, input: ByteSource? = nil,
        onStdout: (Data) throws -> Void, onStderr: (Data) throws -> Void
    ) throws -> Int {
        struct Create: Encodable {
            let cmd: [String]
            let env: [String]
            let user: String?
            let workingDir: String?
            let attachStdin: Bool
            let attachStdout = true
            let attachStderr = true
            enum CodingKeys: String, CodingKey {
                case cmd = "Cmd"
                case env = "Env"
                case user = "User"
                case workingDir = "WorkingDir"
                case attachStdin = "AttachStdin"
                case attachStdout = "AttachStdout"
                case attachStderr = "AttachStderr"
            }
        }
        let created = try decode(
            ExecCreated.self, "POST", "/containers/\(Self.escape(container))/exec",
            body: .json(try JSONEncoder().encode(Create(cmd: argv, env: environment, user: user, workingDir: workingDir, attachStdin: input != nil))))
        var decoder = MultiplexedStreamDecoder()
        let send: Upgrade? = input.map { input in
            Upgrade { stream in
                var buffer = [UInt8](repeating: 0, count: 64 << 10)
                while true {
                    let count = try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
                    if count == 0 { break }
                    // A refused write: the command stopped reading (it exited, or closed its input). What
                    // it wrote and its exit status are still to be read; a connection that failed fails
                    // that read too.
                    guard (try? stream.write(Data(buffer[0..<count]))) != nil else { break }
                }
                try? stream.closeWrite()
            }
        }
        try perform("POST", "/exec/\(created.id)/start", body: .json(Data(#"{"Detach":false,"Tty":false}"#.utf8)), upgrade: send) { chunk in
            for (stream, data) in try decoder.feed(chunk) {
                if stream == .stderr { try onStderr(data) } else { try onStdout(data) }
            }
        }
        try decoder.finish()
        var state = try decode(ExecState.self, "GET", "/exec/\(created.id)/json")
        for _ in 0..<50 where state.running {
            usleep(20_000)
            state = try decode(ExecState.self, "GET", "/exec/\(created.id)/json")
        }
        return state.exitCode ?? -1
    }

    /// Runs `argv` in a running container without attaching to it (`Detach: true`), for a command whose
    /// output is not wanted: an attached exec takes its connection over for the output stream and the
    /// engine closes it at the end, so the next request needs a new one (over SSH a channel opened on
    /// the server); a detached one leaves the connection kept. Its standard output is discarded; its
    /// standard error goes to a private file in the container's /tmp, read back (then removed) only
    /// when the command fails. Waits for the end, polling the exec's state. Needs `sh` in the container.
    public func execDetached(_ container: String, _ argv: [String]) throws -> (exitCode: Int, stderr: Data) {
        let errors = "/tmp/tmeops-exec-\(UUID().uuidString.lowercased()).err"
        let wrapper = #"umask 077; e=$1; shift; "$@" >/dev/null 2>"$e"; s=$?; if [ "$s" -eq 0 ]; then rm -f -- "$e"; fi; exit "$s""#
        let id = try startDetached(container, ["sh", "-c", wrapper, "tmeops", errors] + argv)
        var pause: useconds_t = 20_000
        while true {
            let state = try decode(ExecState.self, "GET", "/exec/\(id)/json")
            if !state.running {
                let code = state.exitCode ?? -1
                guard code != 0 else { return (0, Data()) }
                let text = (try? containerArchive(container, path: errors, limit: 1 << 20)).map(Self.firstFileOfTar) ?? Data()
                _ = try? startDetached(container, ["rm", "-f", "--", errors])
                return (code, text)
            }
            usleep(pause)
            pause = min(pause * 3 / 2, 500_000)
        }
    }

    /// Creates and starts an exec of `argv` in `container` that nothing attaches to; returns its ID.
    private func startDetached(_ container: String, _ argv: [String]) throws -> String {
        let body = try JSONSerialization.data(withJSONObject: ["Cmd": argv, "AttachStdout": false, "AttachStderr": false])
        let created = try decode(ExecCreated.self, "POST", "/containers/\(Self.escape(container))/exec", body: .json(body))
        try perform("POST", "/exec/\(created.id)/start", body: .json(Data(#"{"Detach":true,"Tty":false}"#.utf8)))
        return created.id
    }

    /// The contents of the first file in a tar stream (the engine's archive of one file): its size is
    /// the header's octal field at offset 124, its bytes follow the 512-byte header.
    public static func firstFileOfTar(_ tar: Data) -> Data {
        let bytes = [UInt8](tar.prefix(512))
        guard bytes.count == 512 else { return Data() }
        let field = String(decoding: bytes[124..<136].prefix { $0 != 0 && $0 != 0x20 }, as: UTF8.self)
        guard let size = Int(field, radix: 8), size >= 0 else { return Data() }
        return Data(tar.dropFirst(512).prefix(size))
    }

    /// A tar stream of `path` inside a container (`GET /containers/{id}/archive`), limited to `limit` bytes.
    public func containerArchive(_ name: String, path: String, limit: Int = 16 << 20) throws -> Data {
        var data = Data()
        try perform("GET", "/containers/\(Self.escape(name))/archive", query: [("path", path)]) { chunk in
            guard data.count + chunk.count <= limit else { throw DockerError.protocolError("\(path) in \(name) is larger than \(limit) bytes") }
            data.append(chunk)
        }
        return data
    }

    /// Unpacks `tar` at `path` inside a container (`PUT /containers/{id}/archive`); works on a created,
    /// not yet started container.
    public func putArchive(_ name: String, path: String, tar: Data) throws {
        try perform("PUT", "/containers/\(Self.escape(name))/archive", query: [("path", path)], body: .data(tar, contentType: "application/x-tar"))
    }

    // MARK: Networks

    public func network(_ name: String) throws -> NetworkDetails? {
        do {
            return try decode(NetworkDetails.self, "GET", "/networks/\(Self.escape(name))")
        } catch let error as DockerError where error.isNotFound {
            return nil
        }
    }

    public func connect(_ container: String, toNetwork network: String, aliases: [String] = []) throws {
        let body: [String: Any] = ["Container": container, "EndpointConfig": ["Aliases": aliases]]
        try perform("POST", "/networks/\(Self.escape(network))/connect", body: .json(try JSONSerialization.data(withJSONObject: body)))
    }

    public func disconnect(_ container: String, fromNetwork network: String, force: Bool = false) throws {
        let body: [String: Any] = ["Container": container, "Force": force]
        try perform("POST", "/networks/\(Self.escape(network))/disconnect", body: .json(try JSONSerialization.data(withJSONObject: body)))
    }
}

/// The engine's answer to `POST /containers/{id}/exec`: the new exec's ID.
private struct ExecCreated: Decodable {
    let id: String
    enum CodingKeys: String, CodingKey { case id = "Id" }
}

/// What `GET /exec/{id}/json` tells of an exec: whether it still runs, and its exit code once it ended.
private struct ExecState: Decodable {
    let exitCode: Int?
    let running: Bool
    enum CodingKeys: String, CodingKey {
        case exitCode = "ExitCode"
        case running = "Running"
    }
}
