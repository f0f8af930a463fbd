import Foundation
import TMEOpsCore
import TMEOpsTestSupport
import ValidatePlugin
import XCTest

@testable import SwapPlugin
@testable import tmeops

/// Reading what a stop signal does from the host's `ps`, and counting open requests from the TCP
/// tables: pure logic, no sandbox.
final class StopDrainLogicTests: XCTestCase {
    // The sandbox's app under Docker's init, as `top` shows it: the init (waiting for signals to pass
    // on), then the app, which ignores SIGTERM (bit 15) and handles SIGINT (bit 2).
    let initAndApp: [[String: String]] = [
        [
            "PID": "3580", "PPID": "3558", "BLOCKED": "0000000000000000", "IGNORED": "0000000000300000", "CAUGHT": "0000000000000000",
            "WCHAN": "do_sigtimedwait.isra.0",
        ],
        [
            "PID": "3624", "PPID": "3580", "BLOCKED": "0000000000000000", "IGNORED": "0000000001005000", "CAUGHT": "0000000100000002",
            "WCHAN": "poll_schedule_timeout.constprop.0",
        ],
    ]
    let (term, int, hup): (Int32, Int32, Int32) = (15, 2, 1)

    func testTheRowsOfTopAreRead() {
        let processes = SignalReaction.processes(initAndApp, main: 3580, hostPIDs: false)
        XCTAssertEqual(
            processes,
            [
                .init(pid: 3580, parent: 3558, namespaceInit: true, blocked: 0, ignored: 0x30_0000, caught: 0, waitingIn: "do_sigtimedwait.isra.0"),
                .init(
                    pid: 3624, parent: 3580, namespaceInit: false, blocked: 0, ignored: 0x100_5000, caught: 0x1_0000_0002,
                    waitingIn: "poll_schedule_timeout.constprop.0"),
            ])
        XCTAssertEqual(SignalReaction.receivers(processes, main: 3580, dockerInit: true).map(\.pid), [3624], "Docker's init passes it to its child")
        XCTAssertEqual(SignalReaction.receivers(processes, main: 3580, dockerInit: false).map(\.pid), [3580])
        XCTAssertFalse(SignalReaction.processes(initAndApp, main: 3580, hostPIDs: true)[0].namespaceInit, "no PID 1 of its own")
    }

    func testASignalIsKnownToChangeNothingOnlyWhenEveryReceiverIgnoresItOrIsPIDOneWithoutAHandler() {
        let processes = SignalReaction.processes(initAndApp, main: 3580, hostPIDs: false)
        let app = processes[1]
        XCTAssertTrue(SignalReaction.changesNothing([app], signal: term), "SIG_IGN")
        XCTAssertFalse(SignalReaction.changesNothing([app], signal: int), "SIGINT has a handler (bit 2 of SigCgt)")
        XCTAssertFalse(SignalReaction.changesNothing([app], signal: hup), "the default action ends a process that is not PID 1")
        // `node server.js` as PID 1: no handler, and the kernel drops what PID 1 does not handle.
        let node = SignalReaction.Process(pid: 500, parent: 480, namespaceInit: true, blocked: 0, ignored: 0x1000, caught: 0x4000_0000, waitingIn: "ep_poll")
        XCTAssertTrue(SignalReaction.changesNothing([node], signal: term))
        // The same with a handler, as `process.on('SIGTERM', ...)` installs: it may exit.
        var handled = node
        handled.caught? |= 1 << 14
        XCTAssertFalse(SignalReaction.changesNothing([handled], signal: term))
        XCTAssertFalse(SignalReaction.changesNothing([app, handled], signal: term), "every receiver must go on")
        // tini or dumb-init as PID 1 (no Docker init): no handler, waiting for the signal to pass it on.
        XCTAssertFalse(SignalReaction.changesNothing([processes[0]], signal: term), "a signal waited for is not dropped")
        // Or between two waits, with its signals blocked.
        var blocking = node
        blocking.blocked = 0x7fff_febf
        blocking.waitingIn = "-"
        XCTAssertFalse(SignalReaction.changesNothing([blocking], signal: term))
        // A mask that was not read: nothing is known.
        var unread = node
        unread.blocked = nil
        XCTAssertFalse(SignalReaction.changesNothing([unread], signal: term))
        XCTAssertFalse(SignalReaction.changesNothing([], signal: term), "nothing read, nothing known")
        XCTAssertFalse(SignalReaction.changesNothing([node], signal: 0))
        XCTAssertFalse(SignalReaction.changesNothing([node], signal: 9), "SIGKILL ends any process")
    }

    func testSignalNamesAsDockerTakesThemWithTheServersNumbers() {
        XCTAssertEqual(SignalReaction.number("SIGTERM"), 15)
        XCTAssertEqual(SignalReaction.number("term"), 15)
        XCTAssertEqual(SignalReaction.number("15"), 15)
        XCTAssertEqual(SignalReaction.number("SIGQUIT"), 3)
        XCTAssertEqual(SignalReaction.number("SIGUSR1"), 10, "Linux's number, whatever this machine's libc says")
        XCTAssertNil(SignalReaction.number("SIGRTMIN+3"), "an unknown one is waited out as before")
        XCTAssertNil(SignalReaction.number("0"))
        XCTAssertNil(SignalReaction.number("9"), "SIGKILL is not a stop signal anything could ignore")
    }

    func testOnlyConnectionsOnTheAppsPortsThatMayStillBeServedCount() {
        // Port 3000 is 0BB8; 5432 is 1538 (the app's own database connection, to another host).
        let tables = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0B00007F:86AB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 19809070 1
               1: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 19809121 1
               2: 030012AC:887C 020012AC:1538 01 00000000:00000000 02:000AECB2 00000000  1000        0 19809125 2
               3: 030012AC:0BB8 010012AC:D2F0 01 00000000:00000000 00:00000000 00000000  1000        0 19809200 1
               4: 030012AC:0BB8 010012AC:D2F2 06 00000000:00000000 03:00000F8E 00000000     0        0 0 3
               5: 030012AC:0BB8 010012AC:D2F4 08 00000000:00000000 00:00000000 00000000  1000        0 19809201 1
              sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 00000000000000000000000000000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1
               1: 0000000000000000FFFF0000030012AC:0BB8 0000000000000000FFFF0000010012AC:D300 01 00000000:00000000 00:00000000 00000000  1000        0 2 1
            """
        XCTAssertEqual(OpenRequests.count(tables, ports: [3000]), 3, "two established (one over IPv6) and one the client closed; not TIME_WAIT or LISTEN")
        XCTAssertEqual(OpenRequests.count(tables, ports: []), 3, "3000 is a port the app listens on, configured or not")
        XCTAssertEqual(OpenRequests.count(tables, ports: [5432]), 3, "a port the app connects to is not its own")
        // A port the app listens on that no one configured (a second one a proxy forwards to).
        let second = tables + "\n   9: 030012AC:1F90 010012AC:D400 01 00000000:00000000 00:00000000 00000000  1000        0 3 1"
        XCTAssertEqual(OpenRequests.count(second, ports: [3000]), 3, "8080 (1F90) has no LISTEN row here")
        let listening = second + "\n  10: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4 1"
        XCTAssertEqual(OpenRequests.count(listening, ports: [3000]), 4)
    }
}

/// A container whose app ignores its stop signal is stopped once its open requests are served, not
/// after its whole stop timeout; one whose app may exit on the signal is left to do so. Real containers
/// on the sandbox's engine, stopped through the deploy's own code.
final class StopDrainSerial: XCTestCase {
    var sandbox: Sandbox!
    var harness: TestHarness!
    var names: [String] = []

    override func setUpWithError() throws {
        sandbox = try Sandbox.require()
        harness = try TestHarness(environment: ["HOME": NSHomeDirectory()])
        try registerPlugins(into: harness.registry)
        try harness.writeSandboxConfig()
    }

    override func tearDownWithError() throws {
        for name in names { _ = try? sandbox.docker(["rm", "-f", name]) }
    }

    /// A target for the sandbox whose `app` section also says `extra` (indented lines).
    func target(extra: String = "") throws -> DeployTarget {
        if !extra.isEmpty {
            let file = harness.directory.appendingPathComponent("tmeops.yml")
            let text = try String(contentsOf: file, encoding: .utf8)
            let marked = "      container: \(sandbox["SANDBOX_APP_CONTAINER"])\n"
            XCTAssertTrue(text.contains(marked))
            try text.replacingOccurrences(of: marked, with: marked + extra).write(to: file, atomically: true, encoding: .utf8)
        }
        let context = harness.context(options: try GlobalOptions.parse(["-e", "sandbox"]))
        let (config, environment) = try context.loadEnvironment()
        return try DeployTarget(context: context, config: config, environment: environment)
    }

    /// Starts a container on the app's network with the given stop timeout; `init` as Docker's `--init`.
    func run(_ suffix: String, image: String, initProcess: Bool, stopTimeout: Int, options: [String] = [], command: [String] = []) throws -> String {
        let name = "tmeops-stop-\(suffix)-\(UUID().uuidString.prefix(6).lowercased())"
        names.append(name)
        var arguments = ["run", "-d", "--name", name, "--network", sandbox["SANDBOX_NETWORK"], "--stop-timeout", "\(stopTimeout)"] + options
        if initProcess { arguments.append("--init") }
        if !command.isEmpty { arguments += ["--entrypoint", command[0]] }
        arguments.append(image)
        arguments += command.dropFirst()
        let started = try sandbox.docker(arguments)
        XCTAssertEqual(started.status, 0, started.stderr)
        return name
    }

    /// Waits for the sample app at `ip` to answer (its health needs a database these are not given; its
    /// version does not). Only then has it set SIGTERM to be ignored: a signal before that ends it.
    func waitUntilListening(_ ip: String) throws {
        var listening = false
        for _ in 0..<100 where !listening {
            listening = try sandbox.inNamespace(["curl", "-fsS", "--max-time", "2", "http://\(ip):3000/api/version"]).status == 0
            if !listening { Thread.sleep(forTimeInterval: 0.1) }
        }
        XCTAssertTrue(listening, "the app at \(ip) answers")
    }

    func address(_ name: String) throws -> String {
        try sandbox.docker(["inspect", "-f", "{{(index .NetworkSettings.Networks \"\(sandbox["SANDBOX_NETWORK"])\").IPAddress}}", name]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testAnAppThatIgnoresSIGTERMServesItsOpenRequestToTheEndAndIsThenStoppedWithoutWaitingOutItsTimeout() throws {
        let target = try target()
        defer { target.close() }
        // The sandbox's app (it ignores SIGTERM) under Docker's init, as compose runs it, with a long timeout.
        let name = try run("app", image: sandbox["SANDBOX_APP_IMAGE"], initProcess: true, stopTimeout: 60)
        let ip = try address(name)
        try waitUntilListening(ip)
        let details = try XCTUnwrap(try target.engine.container(name))
        let document = try XCTUnwrap(try target.engine.containerDocument(name))
        let drain = try XCTUnwrap(
            StopDrain.prepare(session: target.session, engine: target.engine, document: document, signal: "SIGTERM", ports: target.appPorts(document)),
            "the kernel shows that SIGTERM changes nothing for it")

        // A request of 1.5 s in flight when the stop begins, from the host's side.
        let request = Process()
        request.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        request.arguments = ["--net=\(sandbox["SANDBOX_NETNS"])", "curl", "-sS", "--max-time", "30", "http://\(ip):3000/api/slow?ms=1500"]
        let output = Pipe()
        request.standardOutput = output
        try request.run()
        // The deploy's own kept probe connection is closed before requests are counted; the one
        // left open is curl's.
        HTTPProbe.forget(session: target.session, host: ip, port: target.health.port)
        var seen = false
        for _ in 0..<200 where !seen {
            seen = (drain.openRequests() ?? 0) > 0
            if !seen { Thread.sleep(forTimeInterval: 0.02) }
        }
        XCTAssertTrue(seen, "the request is counted while it is open")

        let report = try target.stopWatching(details)
        request.waitUntilExit()
        let answer = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(request.terminationStatus, 0, "the request in flight was answered, not cut: \(answer)")
        XCTAssertTrue(answer.contains("\"slept_ms\":1500"), answer)
        XCTAssertTrue(report.drained, "stopped once its request was served, before its 60 s timeout")
        XCTAssertNotNil(report.answeredUntil)
        XCTAssertEqual(try sandbox.docker(["inspect", "-f", "{{.State.Running}}", name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines), "false")
    }

    func testAProcessThatIsPIDOneWithoutAHandlerIsKnownToIgnoreTheSignal() throws {
        let target = try target()
        defer { target.close() }
        // Python as PID 1 with no SIGTERM handler (as `CMD ["node", "server.js"]`): the kernel drops it.
        let name = try run(
            "pid1", image: sandbox["SANDBOX_RUNTIME_IMAGE"], initProcess: false, stopTimeout: 60, command: ["python3", "-c", "import time; time.sleep(600)"])
        let report = try target.stopWatching(try XCTUnwrap(try target.engine.container(name)))
        XCTAssertTrue(report.drained, "no port of its own is open, so it is stopped at once")
    }

    func testAnAppWithAHandlerIsLeftToExitOnTheSignal() throws {
        let target = try target()
        defer { target.close() }
        let script = "import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\ntime.sleep(600)"
        let name = try run("handler", image: sandbox["SANDBOX_RUNTIME_IMAGE"], initProcess: true, stopTimeout: 60, command: ["python3", "-c", script])
        let document = try XCTUnwrap(try target.engine.containerDocument(name))
        XCTAssertNil(StopDrain.prepare(session: target.session, engine: target.engine, document: document, signal: "SIGTERM", ports: target.appPorts(document)))
        let report = try target.stopWatching(try XCTUnwrap(try target.engine.container(name)))
        XCTAssertFalse(report.drained)
        XCTAssertFalse(report.killed, "it exited on SIGTERM by itself")
    }

    func testAnInitAsPIDOneThatBlocksTheSignalToWaitForItIsLeftToPassItOn() throws {
        let target = try target()
        defer { target.close() }
        // tini as the image's own entrypoint (no Docker init): PID 1 with no handler, SIGTERM blocked
        // for its sigwait; it passes the signal to python, which takes the default action and ends.
        let tini = URL(fileURLWithPath: "/usr/bin/docker-init").resolvingSymlinksInPath().path
        let name = try run(
            "tini", image: sandbox["SANDBOX_RUNTIME_IMAGE"], initProcess: false, stopTimeout: 60, options: ["-v", "\(tini):/tini:ro"],
            command: ["/tini", "--", "python3", "-c", "import time; time.sleep(600)"])
        // tini has blocked its signals once it has started its child.
        var started = false
        for _ in 0..<100 where !started {
            started = try sandbox.docker(["top", name]).stdout.contains("python3")
            if !started { Thread.sleep(forTimeInterval: 0.05) }
        }
        XCTAssertTrue(started)
        let document = try XCTUnwrap(try target.engine.containerDocument(name))
        XCTAssertNil(
            StopDrain.prepare(session: target.session, engine: target.engine, document: document, signal: "SIGTERM", ports: target.appPorts(document)),
            "a blocked signal is not an ignored one")
        let report = try target.stopWatching(try XCTUnwrap(try target.engine.container(name)))
        XCTAssertFalse(report.drained)
        XCTAssertFalse(report.killed, "it ended on SIGTERM by itself")
    }

    func testStopWhenIdleFalseWaitsOutTheTimeout() throws {
        let target = try target(extra: "      stop_when_idle: false\n")
        defer { target.close() }
        XCTAssertFalse(target.app.stopWhenIdle)
        let name = try run("timeout", image: sandbox["SANDBOX_APP_IMAGE"], initProcess: true, stopTimeout: 1)
        try waitUntilListening(try address(name))
        let report = try target.stopWatching(try XCTUnwrap(try target.engine.container(name)))
        XCTAssertFalse(report.drained)
        XCTAssertTrue(report.killed, "killed after its stop timeout, as docker stop does")
    }
}
