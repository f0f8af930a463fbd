import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsHosts
import TMEOpsSSH

/// What a container's stop signal does to it, told by the kernel through the host's `ps` (the Engine
/// API's `top`, run as the engine's user): each process's blocked, ignored and caught signal masks and
/// where it sleeps (`wchan`). Docker sends the stop signal to the container's main process; with Docker's
/// init as that process (`HostConfig.Init`), the init passes it on to its children. A receiver that
/// ignores the signal, or that is its namespace's PID 1 with no handler for it (the kernel then drops it:
/// a Node server run as `CMD ["node", "server.js"]` is the common case), goes on as before. One with a
/// handler, the default action, or the signal blocked may end: an init such as tini or dumb-init as PID
/// 1 has no handler but waits for the signal in `sigtimedwait` (its mask then shows the signal unblocked
/// while the kernel keeps it), and passes it on. Pure logic: the reading is ``StopDrain``'s.
enum SignalReaction {
    /// One process as `ps -o pid,ppid,blocked,ignored,caught,wchan` shows it.
    struct Process: Equatable {
        var pid: Int
        var parent: Int?
        /// PID 1 of the container's PID namespace.
        var namespaceInit = false
        /// The masks; nil when `ps` did not show one (then nothing is known of the process).
        var blocked: UInt64?
        var ignored: UInt64?
        var caught: UInt64?
        /// The kernel function it sleeps in (`-` when running).
        var waitingIn = ""
    }

    /// What `top` is asked for.
    static let psArguments = "-o pid,ppid,blocked,ignored,caught,wchan:64"

    /// The processes of `rows` (`top`'s, keyed by `ps`'s titles); `main` is the container's main
    /// process, PID 1 of its namespace unless it shares the host's (`hostPIDs`).
    static func processes(_ rows: [[String: String]], main: Int, hostPIDs: Bool) -> [Process] {
        rows.compactMap { row in
            guard let pid = row["PID"].flatMap({ Int($0) }) else { return nil }
            return Process(
                pid: pid, parent: row["PPID"].flatMap { Int($0) }, namespaceInit: pid == main && !hostPIDs,
                blocked: row["BLOCKED"].flatMap { UInt64($0, radix: 16) }, ignored: row["IGNORED"].flatMap { UInt64($0, radix: 16) },
                caught: row["CAUGHT"].flatMap { UInt64($0, radix: 16) }, waitingIn: row["WCHAN"] ?? "")
        }
    }

    /// Who the stop signal reaches: the main process, or with Docker's init the init's children.
    static func receivers(_ processes: [Process], main: Int, dockerInit: Bool) -> [Process] {
        dockerInit ? processes.filter { $0.parent == main } : processes.filter { $0.pid == main }
    }

    /// Signals no process can ignore, block or handle.
    static let unstoppable: Set<Int32> = [9, 19]

    /// The signal's Linux number (the server's, whatever this machine is) for a name as Docker takes it
    /// (`SIGTERM`, `TERM`, `15`); nil for one this does not know (a real-time signal), which is then
    /// waited out as before.
    static func number(_ name: String) -> Int32? {
        let upper = name.uppercased()
        if let number = Int32(upper) { return (1...64).contains(number) && !unstoppable.contains(number) ? number : nil }
        let bare = upper.hasPrefix("SIG") ? String(upper.dropFirst(3)) : upper
        let linux: [String: Int32] = ["HUP": 1, "INT": 2, "QUIT": 3, "USR1": 10, "USR2": 12, "TERM": 15, "WINCH": 28, "PWR": 30]
        return linux[bare]
    }

    /// Whether `signal` leaves every one of `receivers` running (none blocks it or has a handler for it,
    /// none would take its default action). False when there are none, or a mask was not read: nothing
    /// is known then.
    static func changesNothing(_ receivers: [Process], signal: Int32) -> Bool {
        guard !receivers.isEmpty, (1...64).contains(signal), !unstoppable.contains(signal) else { return false }
        let bit = UInt64(1) << UInt64(signal - 1)
        return receivers.allSatisfy { process in
            guard let blocked = process.blocked, let ignored = process.ignored, let caught = process.caught else { return false }
            // Blocked, or waited for (`sigtimedwait` takes it out of the mask while it waits): kept for
            // the process, never dropped.
            if blocked & bit != 0 || process.waitingIn.contains("sigtimedwait") { return false }
            if ignored & bit != 0 { return true }
            if caught & bit != 0 { return false }
            // No handler: the default action, which the kernel does not take for its namespace's PID 1.
            return process.namespaceInit
        }
    }
}

/// Requests open on an app's ports, from the TCP tables of its network namespace (`/proc/PID/net/tcp`
/// and `tcp6`): a connection whose local port is one of the app's (configured, or one it listens on) and
/// that the app has not finished with (established, being accepted, or closed by the client while the
/// app still answers). Pure logic.
enum OpenRequests {
    /// TCP states (the kernel's numbering, in hex in the tables) in which a request may still be served.
    static let busyStates: Set<String> = ["01", "03", "08"]

    /// Connections open on `ports` or on any port the app listens on (a row in state LISTEN).
    static func count(_ tables: String, ports: Set<Int>) -> Int {
        let served = ports.union(SocketTable.listeningPorts(tables))
        return SocketTable.rows(tables).filter { served.contains($0.port) && busyStates.contains($0.state) }.count
    }
}

/// A stop that waits for requests, not the clock: for a container whose stop signal changes nothing
/// (``SignalReaction``), the time until its stop timeout is spent serving as before, and a request still
/// open when SIGKILL comes is cut all the same. Stopping it once no request is open on its ports serves
/// every request it took and ends the stop seconds sooner. The signal's effect is read through the
/// engine (`top`), the open requests on the host through the deploy's SSH session (its kept runner: no
/// channel of its own); `app.stop_when_idle: false` turns it off.
struct StopDrain {
    let session: SSHSession
    let pid: Int
    let id: String
    let ports: Set<Int>

    /// A drain for `document`'s container (its `GET /containers/{id}/json`) when `signal` is shown to
    /// change nothing for it; nil when it may end the container, or when that cannot be read (no `ps`
    /// on the host, say).
    static func prepare(session: SSHSession, engine: DockerEngine, document: JSONValue, signal: String, ports: Set<Int>) -> StopDrain? {
        guard let number = SignalReaction.number(signal), let id = document["Id"]?.string, !id.isEmpty, id.allSatisfy(\.isHexDigit),
            let pid = document["State"]?["Pid"]?.number.map(Int.init), pid > 0,
            let rows = try? engine.processes(id, psArgs: SignalReaction.psArguments)
        else { return nil }
        let processes = SignalReaction.processes(rows, main: pid, hostPIDs: document["HostConfig"]?["PidMode"]?.string == "host")
        let receivers = SignalReaction.receivers(processes, main: pid, dockerInit: document["HostConfig"]?["Init"]?.bool == true)
        guard SignalReaction.changesNothing(receivers, signal: number) else { return nil }
        return StopDrain(session: session, pid: pid, id: id, ports: ports)
    }

    /// The TCP tables of `$1`'s network namespace, once the host shows that `$1` is still the process
    /// of container `$2` (its cgroup names it; a host whose sshd sees another PID namespace than the
    /// engine's fails here).
    static let tablesScript = #"""
        case "$(cat "/proc/$1/cgroup" 2>/dev/null)" in *"$2"*) ;; *) exit 3 ;; esac
        cat "/proc/$1/net/tcp" || exit 1
        cat "/proc/$1/net/tcp6" 2>/dev/null
        exit 0
        """#

    /// How many requests are open on the app's ports now; nil when the tables cannot be read (the
    /// process has ended).
    func openRequests() -> Int? {
        guard let read = try? session.capture(["sh", "-c", Self.tablesScript, "tmeops", "\(pid)", id]), read.exit.succeeded else { return nil }
        return OpenRequests.count(read.stdoutText, ports: ports)
    }
}
