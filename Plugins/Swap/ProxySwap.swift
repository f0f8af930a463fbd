import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH
import ValidatePlugin

/// Strategy `proxy`: a reverse proxy container (`<app.container>-proxy`, nginx) holds the published ports
/// and forwards to the app by a network alias of its release. A new container is started and
/// health-checked beside the old one, then the proxy is pointed at it and gracefully reloaded (nginx
/// finishes requests in flight on the old workers), so no request fails.
extension DeployTarget {
    var proxy: String { "\(app.container)-proxy" }
    static let proxyMount = "/etc/tmeops-proxy"

    /// The alias a release's container has on the app network.
    func alias(for release: String) -> String { "\(config.app)-\(release)".lowercased() }

    /// nginx configuration forwarding every published port to `upstream` (an alias on the network).
    func proxyConfig(upstream: String) -> String { Self.proxyConfig(upstream: upstream, publish: app.publish) }

    /// The proxy's nginx configuration for the published ports `publish`: one server per container port.
    static func proxyConfig(upstream: String, publish: [PortMapping]) -> String {
        let ports = Set(publish.map(\.containerPort)).sorted()
        let servers = ports.map { port in
            """
                server {
                    listen \(port);
                    location / {
                        proxy_pass http://\(upstream):\(port);
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                        proxy_set_header Host $host;
                        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                        add_header X-Tmeops-Upstream \(upstream) always;
                    }
                }
            """
        }.joined(separator: "\n")
        return """
            # Written by tmeops deploy (strategy proxy): traffic goes to \(upstream).
            worker_processes 1;
            pid /tmp/nginx.pid;
            error_log stderr warn;
            events { worker_connections 512; }
            http {
                access_log off;
            \(servers)
            }

            """
    }

    /// Writes the proxy's configuration on the host (a new file renamed over the old one, in the folder
    /// the proxy mounts) and, when the proxy runs, reloads it gracefully after checking it with `nginx -t`.
    func pointProxy(at upstream: String) throws {
        let write = try session.capture(
            [
                "sh", "-c",
                #"mkdir -p -m 755 -- "$1" && cat > "$1/nginx.conf.part" && chmod 644 "$1/nginx.conf.part" && mv -f -- "$1/nginx.conf.part" "$1/nginx.conf""#,
                "tmeops", try proxyHostDir(),
            ],
            stdin: Data(proxyConfig(upstream: upstream).utf8))
        guard write.exit.succeeded else { throw TMEOpsError("writing the proxy configuration on \(state.host) failed: \(write.stderrText)") }
        guard let details = try engine.container(proxy), details.state.running else { return }
        let test = try engine.exec(proxy, ["nginx", "-t", "-q", "-c", "\(Self.proxyMount)/nginx.conf"])
        guard test.exitCode == 0 else {
            throw TMEOpsError("the proxy rejects its new configuration (upstream \(upstream)): \(String(decoding: test.stderr, as: UTF8.self))")
        }
        let reload = try engine.exec(proxy, ["nginx", "-s", "reload", "-c", "\(Self.proxyMount)/nginx.conf"])
        guard reload.exitCode == 0 else { throw TMEOpsError("reloading the proxy failed: \(String(decoding: reload.stderr, as: UTF8.self))") }
        try waitUntilProxyServes(upstream)
    }

    /// A reload is asynchronous: until nginx's new workers run, requests still reach the old upstream.
    /// Waits until responses through the proxy say they came from `upstream`, then a second more for the
    /// old workers' requests in flight to finish.
    func waitUntilProxyServes(_ upstream: String) throws {
        guard let details = try engine.container(proxy), let address = containerAddress(details, network: app.network),
            let port = app.publish.first?.containerPort
        else { return }
        let deadline = Date().addingTimeInterval(10)
        var consecutive = 0
        while Date() < deadline {
            let response = try? HTTPProbe.request(session: session, host: address, port: port, path: health.path, timeout: 2)
            // nginx adds the header to its own error pages too (`always`): a 502 or 504 carrying it is
            // the proxy saying the upstream did not answer, so only the upstream's own answer counts.
            let answered = response.map { Self.isUpstreamsAnswer(status: $0.status, header: $0.headers["x-tmeops-upstream"], upstream: upstream) } ?? false
            consecutive = answered ? consecutive + 1 : 0
            if consecutive >= 3 {
                // Requests the old workers accepted before the reload may still be running: let them end
                // (stopping the old upstream only now costs no availability).
                Thread.sleep(forTimeInterval: 1.0)
                return
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw TMEOpsError("the proxy did not start sending traffic to \(upstream) within 10 s of its reload")
    }

    /// Whether a response through the proxy is `upstream`'s own answer: it names the upstream, and it is
    /// not one of the errors nginx makes itself when the upstream cannot be reached (502, 503, 504).
    static func isUpstreamsAnswer(status: Int, header: String?, upstream: String) -> Bool {
        header == upstream && ![502, 503, 504].contains(status)
    }

    /// The absolute host path of the folder the proxy mounts (bind mounts need one): the one the running
    /// proxy has, else this environment's `~/.tmeops/<app>/<env>/proxy`, so two environments' proxies on
    /// one server never read each other's configuration.
    func proxyHostDir() throws -> String {
        if let document = try engine.containerDocument(proxy),
            let source = (document["Mounts"]?.array ?? []).first(where: { $0["Destination"]?.string == Self.proxyMount })?["Source"]?.string
        {
            return source
        }
        let home = try session.capture(["sh", "-c", "cd && pwd"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        return "\(home)/\(state.base)/proxy"
    }

    /// Creates and starts the proxy, holding app.publish's ports (the old container must have let go of them).
    func startProxy() throws {
        let folder = try proxyHostDir()
        try AppContainers.removeIfPresent(engine, proxy)
        let (bindings, exposed) = AppContainers.ports(app.publish)
        let spec = ContainerSpec(
            image: deploy.proxyImage, cmd: ["nginx", "-g", "daemon off;", "-c", "\(Self.proxyMount)/nginx.conf"],
            labels: ["tmeops.app": config.app, "tmeops.role": "proxy"], exposedPorts: exposed,
            hostConfig: .init(
                portBindings: bindings, networkMode: app.network, restartPolicy: ["Name": "unless-stopped"],
                binds: ["\(folder):\(Self.proxyMount):ro"],
                initProcess: true))
        _ = try engine.createContainer(name: proxy, spec: spec)
        try engine.startContainer(proxy)
    }

    /// The deploy's swap with strategy proxy; returns the unavailability window (0 unless the proxy had
    /// to be put in front of a container that held the ports itself).
    public func proxySwap(image: String, release: String, journal: (String, [String: String]) throws -> Void) throws -> Double {
        guard let current = try engine.container(app.container) else { throw TMEOpsError("no container \(app.container) on \(environment.name)") }
        guard let imageDetails = try engine.image(image) else { throw TMEOpsError("no image \(image) in the engine of \(environment.name)") }
        if let problem = ProxyStrategy().configProblem(self) { throw TMEOpsError.usage(problem) }
        try AppContainers.removeIfPresent(engine, new)
        try AppContainers.removeIfPresent(engine, old)
        let upstream = alias(for: release)
        let plan = AppContainers.Plan(
            name: new, image: image, release: release, publish: [], network: app.network, aliases: [upstream], test: false, testDatabase: nil)
        var spec = AppContainers.spec(plan, app: app, appName: config.app, image: imageDetails)
        spec.labels?["tmeops.alias"] = upstream
        let newID = try createAppContainer(name: new, spec: spec, settings: try carriedSettings(from: current.id), variables: try envFileVariables())
        try journal("created", ["old_id": current.id, "new_id": newID, "strategy": "proxy"])
        try engine.startContainer(newID)
        // Beside the old one: production is still served while this waits.
        let health = try healthWait(new)
        guard health.healthy else {
            let evidence = self.evidence(newID)
            try engine.removeContainer(newID, force: true)
            throw DeployError(
                message: "the new container failed its health gate beside the old one (\(health.detail)); production was never switched",
                production: .unchanged,
                evidence: evidence)
        }
        try journal("healthy", [:])
        FaultPoint.hit("swap.before-switch", context)
        let proxyRunning = try engine.container(proxy)?.state.running ?? false
        var window = 0.0
        try pointProxy(at: upstream)
        if proxyRunning {
            try journal("switched", ["upstream": upstream])
            if current.state.running { _ = try stopWatching(current) }
        } else {
            // The first proxy deploy: the old container holds the published ports until it stops.
            let stopped = Date()
            if current.state.running { _ = try stopWatching(current) }
            try startProxy()
            try journal("switched", ["upstream": upstream, "proxy": "started"])
            let through = try proxyHealth()
            window = Date().timeIntervalSince(stopped)
            guard through else {
                try AppContainers.removeIfPresent(engine, proxy)
                try engine.startContainer(current.id)
                try engine.removeContainer(newID, force: true)
                throw DeployError(message: "the new proxy did not answer; the old container was started again", production: .putBack)
            }
        }
        FaultPoint.hit("swap.after-switch", context)
        try engine.renameContainer(current.id, to: old)
        try engine.renameContainer(newID, to: app.container)
        try journal("renamed", [:])
        return window
    }

    /// The health endpoint answered through the proxy (on the proxy container's address).
    func proxyHealth() throws -> Bool {
        for _ in 0..<100 {
            if let details = try engine.container(proxy), let address = containerAddress(details, network: app.network) {
                let probe = HealthWait.probe(session: session, address: address, health: health)
                if probe.problem == nil { return true }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// Puts traffic back on `<name>-old` behind the proxy (after a failed post-deploy validation). The
    /// proxy is switched only once the old release passes its health gate: until then, and if it fails,
    /// the current container keeps serving (the outcome then says so, unhealthy). When the proxy does not
    /// take the old release, it is pointed back at the current one.
    func restoreOldBehindProxy() throws -> HealthWait.Outcome {
        guard let previous = try engine.container(old) else { return try healthWait(app.container) }
        if !previous.state.running { try engine.startContainer(old) }
        var outcome = try healthWait(old, poll: 0.05)
        guard outcome.healthy else {
            _ = try? engine.stopContainer(old, timeout: 1)
            outcome.detail = "the old container did not pass its health gate (\(outcome.detail)), so \(proxy) still sends traffic to \(app.container)"
            return outcome
        }
        if let upstream = previous.config.labels?["tmeops.alias"] {
            do {
                try pointProxy(at: upstream)
            } catch {
                let current = try engine.container(app.container)
                let back = current?.config.labels?["tmeops.alias"] ?? app.container
                do { try pointProxy(at: back) } catch { context.logger.warning("pointing \(proxy) back at \(back) failed: \(error)") }
                _ = try? engine.stopContainer(old, timeout: 1)
                outcome.healthy = false
                outcome.detail = "\(proxy) did not take the old release (\(error)), so it was pointed back at \(app.container)"
                return outcome
            }
        } else {
            // It held the ports itself before the proxy came: take the proxy away again.
            try AppContainers.removeIfPresent(engine, proxy)
            try engine.stopContainer(old, timeout: 1)
            outcome = startAndCheck(old)
        }
        if let current = try engine.container(app.container) { try engine.removeContainer(current.id, force: true) }
        try engine.renameContainer(old, to: app.container)
        return outcome
    }
}

extension DeployTarget {
    /// The swap of the configured strategy.
    public func switchTo(image: String, release: String, journal: (String, [String: String]) throws -> Void) throws -> Double {
        try strategy.swap(self, image: image, release: release, journal: journal)
    }

    /// The old container back as production, by the configured strategy.
    @discardableResult
    public func putBack() throws -> HealthWait.Outcome { try strategy.putBack(self) }

    /// After a recover: the proxy (if there is one) runs and points at production's alias.
    func repairProxy() throws -> String? {
        guard try engine.container(proxy) != nil, let current = try engine.container(app.container) else { return nil }
        // A container tmeops made has its release alias; one made before the proxy is reached by name.
        let upstream = current.config.labels?["tmeops.alias"] ?? app.container
        try pointProxy(at: upstream)
        if try engine.container(proxy)?.state.running != true {
            if try engine.container(proxy) != nil { try engine.startContainer(proxy) } else { try startProxy() }
        }
        return upstream
    }
}
