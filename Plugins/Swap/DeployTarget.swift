import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH
import TransferPlugin
import ValidatePlugin

/// Everything one environment's deploy needs: the config sections, the SSH connection to its host with
/// the engine and the remote state on it. One value per host: a deploy to several hosts holds several.
public final class DeployTarget {
    public let context: CommandContext
    public let config: LoadedConfig
    public let environment: EnvironmentConfig
    public let app: AppContainerConfig
    public let health: HealthConfig
    public let deploy: DeployConfig
    public let testInstance: TestInstanceConfig?
    /// How this environment's releases reach users (`deploy.strategy`).
    public let strategy: any DeployStrategy
    /// The host, as the command holds it (its session and engine are the command's, shared with every
    /// other part of it that asks, e.g. a database dump run in the database container).
    public let host: EnvironmentHost
    /// The host's connections; `reconnect()` replaces them when the SSH connection drops mid-swap.
    public private(set) var session: SSHSession
    public private(set) var engine: DockerEngine
    public private(set) var state: RemoteState
    /// How the env file is read when no running container says (a swarm's app runs as tasks): set by
    /// the swarm deploy from the service's record of it.
    public var envFileFormatWhenNoContainer: EnvFileFormat?

    /// The target for `host` (one of `ssh.hosts`), or, without one, the environment's only host.
    public init(context: CommandContext, config: LoadedConfig, environment: EnvironmentConfig, host hostName: String? = nil) throws {
        self.context = context
        self.config = config
        self.environment = environment
        app = try environment.require(AppContainerConfig.self, for: "deploying the app")
        health = environment.section(HealthConfig.self) ?? HealthConfig()
        deploy = try DeployConfig.of(environment)
        testInstance = environment.section(TestInstanceConfig.self)
        guard let strategyType = DeployStrategies.named(deploy.strategy) else {
            throw TMEOpsError.usage("environments.\(environment.name).deploy.strategy: '\(deploy.strategy)' is not a strategy")
        }
        strategy = strategyType.init()
        let database = environment.section(DatabaseConfig.self)
        if let test = testInstance?.database, Self.isOwnDatabase(test, name: database?.name, url: database?.url) {
            throw TMEOpsError.usage(
                "environments.\(environment.name).test_instance.database is \(test), the environment's own database: a deploy drops and copies it for the test instance; name another one (e.g. \(test)_test)"
            )
        }
        // A local environment (no ssh section) and one of several hosts are refused here, each with its reason.
        let name = try RemoteHost.host(hostName.map { .named($0) } ?? .only, in: environment)
        guard let host = try context.hosts(environment).first(where: { $0.name == name }) else {
            throw TMEOpsError("environments.\(environment.name): \(name) is not among its hosts")
        }
        self.host = host
        (engine, session) = (try host.engine(), try host.session())
        state = try host.state(app: config.app, lockTTL: deploy.lockTTL.seconds)
    }

    /// Closes the host's connections (the command would close them when it ends anyway).
    public func close() { host.close() }

    /// Opens the host's SSH session and engine client again, after the old ones failed: up to
    /// `attempts` tries, 1, 2, 4 … s apart. Used where production must be put back whatever the link does.
    func reconnect(attempts: Int = 4) throws {
        var lastError: Error?
        for attempt in 0..<attempts {
            if attempt > 0 { Thread.sleep(forTimeInterval: Double(1 << (attempt - 1))) }
            do {
                host.close()
                (engine, session) = (try host.engine(), try host.session())
                state = try host.state(app: config.app, lockTTL: deploy.lockTTL.seconds)
                context.logger.warning("reconnected to \(state.host) after the connection failed")
                return
            } catch {
                lastError = error
                context.logger.warning("reconnecting to \(environment.name) failed (attempt \(attempt + 1) of \(attempts)): \(error)")
            }
        }
        throw lastError ?? TMEOpsError("cannot reconnect to \(environment.name)")
    }

    /// Opens the connection again when the host no longer answers (its lock file cannot be read), so
    /// that what must still reach it (the put-back, the ledger) does; a failure here is left to the
    /// step that needs the host, which reports it.
    func reconnectIfLost(attempts: Int = 4) {
        do {
            _ = try state.lockOwner()
        } catch {
            try? reconnect(attempts: attempts)
        }
    }

    /// The last log lines of `container`, stderr's first, at most 20, secrets masked: what a failed gate
    /// shows and the ledger keeps.
    public func evidence(_ container: String) -> [String] {
        var stderr: [String] = []
        var stdout: [String] = []
        try? engine.logs(container, tail: 100) { stream, data in
            let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map { String($0) }.filter { !$0.isEmpty }
            if stream == .stderr { stderr += lines } else { stdout += lines }
        }
        let chosen = Array(stderr.suffix(20)) + Array(stdout.suffix(max(0, 20 - min(20, stderr.count))))
        return chosen.map { context.redactor.redact($0) }
    }

    /// The settings `container` (production's app container) has that tmeops.yml does not name, with
    /// tmeops.yml's `app.volumes`, `app.labels` and `app.options` over them; only those when it is gone.
    public func carriedSettings(from container: String) throws -> ContainerSettings {
        guard let document = try engine.containerDocument(container) else { return ContainerSettings().applying(app) }
        let image = try document["Image"]?.string.flatMap { try engine.imageDocument($0) }
        return ContainerSettings(container: document, image: image).applying(app)
    }

    /// The env file's variables for a new app container, read by the rules of the tool that made the
    /// running one (see `AppEnvironment.format`); keys tmeops.yml's `app.env` sets are left to it, as
    /// compose's `environment:` and docker's `-e` win over an env file. Their values are redacted from here on.
    public func envFileVariables() throws -> [(key: String, value: String)] {
        guard let path = app.envFile else { return [] }
        let running = try engine.containerDocument(app.container)
        let read = try session.capture(["cat", "--", path])
        guard read.exit.succeeded else {
            throw DeployError(
                message:
                    "app.env_file \(path) cannot be read on \(state.host) (\(read.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))); create it or let \(state.host)'s SSH user read it, then try again",
                production: .unchanged)
        }
        let format =
            running == nil && app.envFileFormat == nil
            ? envFileFormatWhenNoContainer ?? AppEnvironment.format(app, running: nil) : AppEnvironment.format(app, running: running)
        let pairs = try DotEnv.parse(read.stdoutText, file: "\(state.host):\(path)", format: format)
        AppEnvironment.redact(pairs, with: context.redactor)
        return pairs.filter { app.env[$0.key] == nil }
    }

    /// Seconds `docker stop` waits for `container` before SIGKILL: app.stop_timeout when tmeops.yml sets
    /// it, else the container's own stop timeout, else 10.
    public func stopSeconds(for container: String) -> Int {
        stopSeconds(document: app.stopTimeoutIsSet ? nil : (try? engine.containerDocument(container)) ?? nil)
    }

    /// ``stopSeconds(for:)`` from the container's document, already read.
    func stopSeconds(document: JSONValue?) -> Int {
        if !app.stopTimeoutIsSet, let own = document?["Config"]?["StopTimeout"]?.number { return Int(own) }
        return Int(app.stopTimeout.seconds.rounded(.up))
    }

    /// How an app container stopped: how long it took, until when it still answered its health
    /// endpoint, and whether it had to be killed.
    public struct StopReport: Sendable {
        public var seconds: Double
        public var answeredUntil: Date?
        public var killed: Bool
        public var signal: String
        public var timeout: Int
        /// Killed before its timeout because the signal changed nothing and no request was open (``StopDrain``).
        public var drained = false
    }

    /// Stops `container` as `docker stop` does (its stop signal, SIGKILL after the stop timeout), probing
    /// its health endpoint meanwhile, so the deploy reports the time users were really without an answer.
    /// When the kernel shows that the signal changes nothing for it (``StopDrain``), it is killed as soon
    /// as no request is open on its ports instead (`app.stop_when_idle`).
    public func stopWatching(_ container: ContainerDetails) throws -> StopReport {
        let document = try engine.containerDocument(container.id)
        let signal = document?["Config"]?["StopSignal"]?.string ?? "SIGTERM"
        let timeout = stopSeconds(document: document)
        let address = containerAddress(container, network: app.network)
        let drain =
            app.stopWhenIdle ? document.flatMap { StopDrain.prepare(session: session, engine: engine, document: $0, signal: signal, ports: appPorts($0)) } : nil
        let started = Date()
        var report = StopReport(seconds: 0, answeredUntil: nil, killed: false, signal: signal, timeout: timeout)
        try engine.killContainer(container.id, signal: signal)
        if let drain {
            // It serves on as before; this deploy's own kept probe connection to it would count as a request.
            if let address { HTTPProbe.forget(session: session, host: address, port: health.port) }
            // Until its tables cannot be read (it ended by itself), it runs and serves as before.
            while Date().timeIntervalSince(started) < Double(timeout), let open = drain.openRequests() {
                report.answeredUntil = Date()
                if open == 0 {
                    // A kill that fails leaves it to the wait below, which kills it at the timeout.
                    if (try? engine.killContainer(container.id, signal: "KILL")) != nil { (report.killed, report.drained) = (true, true) }
                    break
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        while try engine.container(container.id)?.state.running == true {
            if Date().timeIntervalSince(started) >= Double(timeout) {
                // While it drained, each read of its tables recorded that it still served.
                if !report.killed { try? engine.killContainer(container.id, signal: "KILL") }
                report.killed = true
            } else if !report.drained, let address,
                let response = try? HTTPProbe.request(route: .ssh(session), host: address, port: health.port, path: health.path, timeout: 0.5),
                response.status == health.expectStatus
            {
                report.answeredUntil = Date()
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// The container ports `document`'s app serves on: those it publishes or exposes, and the health
    /// endpoint's.
    func appPorts(_ document: JSONValue) -> Set<Int> {
        var ports: Set<Int> = [health.port]
        for key in [document["HostConfig"]?["PortBindings"], document["Config"]?["ExposedPorts"]].compactMap({ $0?.object?.keys }).joined()
        where key.hasSuffix("/tcp") {
            if let port = Int(key.dropLast(4)) { ports.insert(port) }
        }
        return ports
    }

    /// Creates an app container: `spec` over the settings carried from `settings`, then the env file's
    /// `variables` put into it (never into its config); removed again if that fails.
    func createAppContainer(name: String, spec: ContainerSpec, settings: ContainerSettings, variables: [(key: String, value: String)]) throws -> String {
        let id = try engine.createContainer(name: name, body: settings.body(for: spec))
        do {
            try AppContainers.installEnv(variables, engine: engine, container: id)
        } catch {
            _ = try? engine.removeContainer(id, force: true)
            throw error
        }
        return id
    }

    /// Creates the test instance: production's settings with its mounts read-only (or
    /// `test_instance.volumes`), and the env file's variables pointed at `database` wherever they name
    /// production's database (then `test_instance.env` over them).
    func createTestContainer(plan: AppContainers.Plan, image: ImageDetails, database: String?) throws -> String {
        let settings = try carriedSettings(from: app.container).forTestInstance(volumes: testInstance?.volumes)
        var variables = try envFileVariables()
        let configured = environment.section(DatabaseConfig.self)
        if let database, let production = configured?.name ?? configured?.url.flatMap({ URLComponents(string: $0)?.path.dropFirst() }).map(String.init) {
            variables = AppEnvironment.redirected(variables, database: production, to: database, overrides: testInstance?.env ?? [:])
        }
        return try createAppContainer(
            name: test, spec: AppContainers.spec(plan, app: app, appName: config.app, image: image), settings: settings, variables: variables)
    }

    /// Compares, key by key, the variables a new app container would get (tmeops.yml's `app.env` and the
    /// env file) with those production's container runs with; refuses on a difference unless `allow`
    /// (`--accept-env-changes`). Values are never printed, only the keys.
    public func checkEnvironment(allow: Bool) throws {
        guard let document = try engine.containerDocument(app.container) else { return }
        let image = try document["Image"]?.string.flatMap { try engine.imageDocument($0) }
        let running = try AppEnvironment.running(document, image: image, engine: engine)
        var next = Dictionary(try envFileVariables().map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        for (key, value) in app.env { next[key] = value }
        let difference = AppEnvironment.difference(current: running.given, visible: running.visible, next: next)
        guard !difference.isEmpty else { return }
        let format = AppEnvironment.format(app, running: document)
        if allow {
            context.logger.warning("the new container's environment differs from \(app.container)'s, as accepted: \(difference.description)")
            return
        }
        throw DeployError(
            message: """
                the new container's environment would differ from what \(app.container) runs with on \(environment.name): \(difference.description) \
                (values are not shown). \(app.envFile.map { "\($0) was read with \(format == .compose ? "docker compose's" : "docker run --env-file's") rules (app.env_file_format: \(format.rawValue == "compose" ? "docker" : "compose") reads it the other way); " } ?? "")\
                variables set only on the running container belong in app.env or the env file. If the change is intended, deploy with --accept-env-changes. Nothing was changed.
                """,
            production: .unchanged)
    }

    /// What would fail later, found now: the app network exists, and the test instance's ports are free
    /// (a container or a process that holds one is named).
    public func checkTestPortsAndNetwork() throws {
        if let network = app.network, try engine.network(network) == nil {
            throw DeployError(
                message: "app.network \(network) does not exist on \(state.host); create it (docker network create \(network)) or fix app.network",
                production: .unchanged)
        }
        let ports = try testInstance?.publish ?? [PortMapping(parsing: "3001:3000")]
        for port in ports {
            let holders = try engine.containers(all: false, filters: ["publish": ["\(port.hostPort)/\(port.proto)"]]).filter {
                !$0.names.contains("/\(test)")
            }
            if let holder = holders.first {
                let name = holder.names.first.map { String($0.dropFirst()) } ?? String(holder.id.prefix(12))
                throw DeployError(
                    message:
                        "the test instance's port \(port.hostPort) (test_instance.publish) is held by container \(name) on \(state.host); stop it or choose another port",
                    production: .unchanged)
            }
            // A process outside Docker: `ss` lists listening sockets (without it, the engine will say so later).
            let listening = try session.capture(["ss", "-Hltn", "sport = :\(port.hostPort)"])
            if listening.exit.succeeded, !listening.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                try engine.container(test) == nil
            {
                throw DeployError(
                    message:
                        "the test instance's port \(port.hostPort) (test_instance.publish) is in use on \(state.host) by a process outside Docker (ss -ltnp shows which); stop it or choose another port",
                    production: .unchanged)
            }
        }
    }

    /// Refuses when `container` wrote files into its own writable layer under the app's folders: a new
    /// container would not have them. `allow` (`--discard-container-changes`) only warns.
    public func checkWritableLayer(of container: String, allow: Bool) throws {
        guard let document = try engine.containerDocument(container) else { return }
        let discarded = ContainerSettings.discardedChanges(
            try engine.containerChanges(container), appPaths: ContainerSettings.appPaths(of: document),
            mounts: ContainerSettings.mountTargets(of: document))
        guard !discarded.isEmpty else { return }
        let shown = discarded.prefix(10).joined(separator: ", ") + (discarded.count > 10 ? " and \(discarded.count - 10) more" : "")
        let folder = Self.commonFolder(discarded)
        if allow {
            context.logger.warning(
                "\(container) wrote \(discarded.count) file\(discarded.count == 1 ? "" : "s") into its own layer, discarded by this deploy as asked: \(shown)")
            return
        }
        throw DeployError(
            message: """
                \(container) on \(environment.name) wrote files into its own writable layer that a new container would not have: \(shown). \
                Mount a volume there so they outlive the container (environments.\(environment.name).app.volumes: ["/srv/\(config.app)\(folder):\(folder)"], \
                after copying them out with `docker cp`), or pass --discard-container-changes if they may be lost. Nothing was changed.
                """,
            production: .unchanged)
    }

    /// The deepest folder holding every path (for the suggested mount).
    static func commonFolder(_ paths: [String]) -> String {
        var common = paths.first.map { Array($0.split(separator: "/").dropLast()) } ?? []
        for path in paths.dropFirst() {
            let components = Array(path.split(separator: "/").dropLast())
            var length = 0
            while length < min(common.count, components.count), common[length] == components[length] { length += 1 }
            common = Array(common.prefix(length))
        }
        return "/" + common.joined(separator: "/")
    }

    public var out: Output { context.progress }
    var old: String { "\(app.container)-old" }
    var new: String { "\(app.container)-new" }
    var test: String { "\(app.container)-test" }

    public func healthWait(_ container: String, attempts: Int? = nil, poll: TimeInterval? = nil) throws -> HealthWait.Outcome {
        try HealthWait.wait(
            engine: engine, session: session, container: container, network: app.network, health: health, attempts: attempts, poll: poll,
            log: { self.context.logger.info("\($0)") })
    }

    /// Starts `container` and waits for its health gate; a start that fails is an unhealthy outcome
    /// saying so, never an error that would leave the caller's clean-up undone.
    func startAndCheck(_ container: String) -> HealthWait.Outcome {
        do {
            try engine.startContainer(container)
            return try healthWait(container, poll: 0.05)
        } catch {
            return HealthWait.Outcome(healthy: false, attempts: 0, seconds: 0, detail: "it did not start: \(error)")
        }
    }

    /// Where the container being put back from waits until the one put back is proven healthy.
    var aside: String { "\(app.container)-aside" }

    /// The container name of a slot of the swap.
    func name(of slot: RecoveryPlan.Slot) -> String {
        switch slot {
        case .production: app.container
        case .old: old
        case .new: new
        case .aside: aside
        }
    }

    /// Puts the old container back as production. The current one is never deleted first: it is stopped
    /// and renamed `<name>-aside`, `<name>-old` gets production's name and must pass the health gate, and
    /// only then is the aside one removed. If the old one does not come up (after migrations it may not),
    /// the current one goes back and the outcome says both.
    @discardableResult
    public func restoreOld() throws -> HealthWait.Outcome {
        try AppContainers.removeIfPresent(engine, new)
        guard try engine.container(old) != nil else {
            guard let details = try engine.container(app.container) else {
                throw TMEOpsError("neither \(app.container) nor \(old) exists on \(environment.name); production has no app container")
            }
            if !details.state.running { try engine.startContainer(app.container) }
            return try healthWait(app.container, poll: 0.05)
        }
        try AppContainers.removeIfPresent(engine, aside)
        let current = try engine.container(app.container)
        if let current {
            if current.state.running { _ = try stopWatching(current) }
            try engine.renameContainer(current.id, to: aside)
        }
        try engine.renameContainer(old, to: app.container)
        let outcome = startAndCheck(app.container)
        if outcome.healthy {
            try AppContainers.removeIfPresent(engine, aside)
            return outcome
        }
        guard current != nil else { return outcome }
        // The old release does not come up: the one that was running goes back.
        _ = try? engine.stopContainer(app.container, timeout: 1)
        try engine.renameContainer(app.container, to: old)
        try engine.renameContainer(aside, to: app.container)
        let again = startAndCheck(app.container)
        var result = outcome
        result.healthy = false
        result.detail =
            "the old container did not pass its health gate (\(outcome.detail)), so the new one was put back: \(again.healthy ? "it is healthy and serving" : "NOT healthy either: \(again.detail)")"
        return result
    }

    /// Replaces production with a container of `image`: created first, then the old one stopped and
    /// renamed `<name>-old`, the new one renamed and started, and the health gate; on failure the old one
    /// is restored. Returns the unavailability window (old stopped → new healthy).
    public func swap(image: String, release: String, journal: (String, [String: String]) throws -> Void) throws -> Double {
        guard let current = try engine.container(app.container) else { throw TMEOpsError("no container \(app.container) on \(environment.name)") }
        guard let imageDetails = try engine.image(image) else { throw TMEOpsError("no image \(image) in the engine of \(environment.name)") }
        try AppContainers.removeIfPresent(engine, new)
        try AppContainers.removeIfPresent(engine, old)
        let plan = AppContainers.Plan(
            name: new, image: image, release: release, publish: app.publish, network: app.network,
            aliases: AppContainers.aliases(of: current, network: app.network), test: false, testDatabase: nil)
        let newID = try createAppContainer(
            name: new, spec: AppContainers.spec(plan, app: app, appName: config.app, image: imageDetails), settings: try carriedSettings(from: current.id),
            variables: try envFileVariables())
        try journal("created", ["old_id": current.id, "new_id": newID])
        FaultPoint.hit("swap.after-create", context)
        // The window users saw: from the old container's last answer (it may serve on while it ignores
        // SIGTERM) to the new one passing its health gate; the renames come after that.
        var stopped = Date()
        if current.state.running {
            let stop: StopReport
            do {
                stop = try stopWatching(current)
            } catch {
                throw putOldBack(current.id, removing: newID, because: "stopping the old container failed (\(error))", journal: journal)
            }
            stopped = stop.answeredUntil ?? stopped
            if stop.drained {
                out.line(
                    "      the old container ignores \(stop.signal), so it was stopped once no request was open on its ports "
                        + "(after \(String(format: "%.1f", stop.seconds)) s, not its \(stop.timeout) s stop timeout)")
            } else if stop.killed {
                out.line(
                    "      the old container did not exit on \(stop.signal) within \(stop.timeout) s and was killed (it served until then); "
                        + "to stop it sooner, let the app exit on \(stop.signal) (app.init: true passes signals to a process that would be PID 1) or lower app.stop_timeout"
                )
            } else if stop.seconds >= 1 {
                out.line("      the old container took \(String(format: "%.1f", stop.seconds)) s to stop")
            }
        }
        FaultPoint.hit("swap.after-stop", context)
        do {
            try engine.startContainer(newID)
        } catch {
            throw putOldBack(current.id, removing: newID, because: "the new container did not start (\(error))", journal: journal)
        }
        FaultPoint.hit("swap.after-start", context)
        // Production is down until this passes: poll every 50 ms within the usual budget. A transport
        // error here must not leave the old container stopped either.
        let outcome: HealthWait.Outcome
        do {
            outcome = try healthWait(new, poll: 0.05)
        } catch {
            throw putOldBack(current.id, removing: newID, because: "the new container's health could not be checked (\(error))", journal: journal)
        }
        if outcome.healthy {
            let window = Date().timeIntervalSince(stopped)
            // The new container serves now; a journal line that cannot be written is a warning, not a
            // reason to take a healthy release down (the renames are what `recover` reads from the engine).
            do { try journal("healthy", ["window": String(format: "%.3f", window)]) } catch { context.logger.warning("\(error)") }
            try engine.renameContainer(current.id, to: old)
            FaultPoint.hit("swap.after-rename", context)
            try engine.renameContainer(newID, to: app.container)
            do { try journal("renamed", [:]) } catch { context.logger.warning("\(error)") }
            return window
        }
        throw putOldBack(current.id, removing: newID, because: "the new container failed its health gate (\(outcome.detail))", journal: journal)
    }

    /// After a failed swap, before anything is recorded: the new container is removed (its last log
    /// lines kept first), the old one, which still has production's name, started again and checked.
    /// Only then is the journal written, and a journal that cannot be written no longer matters. The
    /// error says whether production is back (exit 4) or not (exit 5, with the command that restores it).
    /// When the connection itself failed (the SSH link dropped between stop and start), it is opened
    /// again, a bounded number of times, and the restore tried on the new one.
    func putOldBack(_ oldID: String, removing newID: String, because reason: String, journal: (String, [String: String]) throws -> Void) -> DeployError {
        var evidence = self.evidence(newID)
        var problem: String?
        for attempt in 0..<3 {
            problem = nil
            do {
                if attempt > 0 {
                    try reconnect()
                    if evidence.isEmpty { evidence = self.evidence(newID) }
                }
                if try engine.container(newID) != nil { try engine.removeContainer(newID, force: true) }
                try engine.startContainer(oldID)
                let back = try healthWait(app.container, poll: 0.05)
                if !back.healthy { problem = back.detail }
                break
            } catch {
                problem = "\(error)"
                context.logger.warning("putting the old container back failed: \(error)")
            }
        }
        // After production is back (or not): a journal line that cannot be written is said, not hidden.
        do {
            try journal(problem == nil ? "restored" : "restore-failed", ["reason": reason])
        } catch {
            context.logger.warning("the journal's line for the put-back could not be written: \(error)")
        }
        if let problem {
            return DeployError(
                message:
                    "\(reason); starting the old container again failed: \(problem). Production has no healthy app container: run `tmeops recover -e \(environment.name)` (or on the host: docker rm -f \(new); docker start \(app.container))",
                production: .notRestored, evidence: evidence)
        }
        return DeployError(message: "\(reason); the old container was started again and is healthy", production: .putBack, evidence: evidence)
    }

    /// Runs `hook` (.tmeops/hooks/NAME beside tmeops.yml) if it exists; a failing pre-hook aborts.
    public func runHook(_ name: String, release: String, image: String, previous: String?) throws {
        let path = config.url.deletingLastPathComponent().appendingPathComponent(".tmeops/hooks/\(name)").path
        guard FileManager.default.isExecutableFile(atPath: path) else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        var env = context.environment
        env["TMEOPS_RELEASE"] = release
        env["TMEOPS_ENV"] = environment.name
        env["TMEOPS_IMAGE"] = image
        env["TMEOPS_PREVIOUS_RELEASE"] = previous ?? ""
        process.environment = env
        process.currentDirectoryURL = config.url.deletingLastPathComponent()
        try process.run()
        let status = LocalProcess.exitStatus(of: process).status
        guard status == 0 else {
            throw DeployError(message: "hook .tmeops/hooks/\(name) failed (exit \(status)); nothing in production was changed", production: .unchanged)
        }
    }
}

extension DeployTarget {
    /// Whether `database` (the test instance's) is the environment's own: its `database.name`, or else the
    /// database its `database.url` names. A deploy drops and copies the test instance's database, so it
    /// must never be production's.
    static func isOwnDatabase(_ database: String, name: String?, url: String?) -> Bool {
        database == (name ?? url.flatMap { URLComponents(string: $0)?.path.dropFirst() }.map(String.init))
    }
}
