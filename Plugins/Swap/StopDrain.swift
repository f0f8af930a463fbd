import Foundation
import TMEOpsCore
import TMEOpsDocker
import TMEOpsSSH

#if canImport(Glibc)
    import Glibc
#endif

/// What a container's stop signal does to it, told by the kernel: each process's ignored and caught
/// signal masks (`SigIgn`, `SigCgt` in `/proc/PID/status`) and its PID in its own namespace (`NSpid`).
/// Docker sends the stop signal to the container's main process; with Docker's init as that process
/// (`HostConfig.Init`), the init passes it on to its child. A receiver that ignores the signal, or that is
/// PID 1 of its namespace with no handler for it (the kernel then drops it: a Node server run as
/// `CMD ["node", "server.js"]` is the common case), goes on as before; one with a handler or the default
/// action may end. Pure logic: the reading is ``StopDrain``'s.
enum SignalReaction {
    /// One process as `/proc/PID/status` describes it.
    struct Process: Equatable {
        var pid: Int
        /// The process's PID in each namespace, outermost first (`NSpid`); its last is the innermost.
        var namespacePIDs: [Int]
        var ignored: UInt64
        var caught: UInt64
    }

    /// The signal's number for a name as Docker takes it (`SIGTERM`, `TERM`, `15`); nil for one this
    /// does not know (a real-time signal), which is then waited out as before.
    static func number(_ name: String) -> Int32? {
        let upper = name.uppercased()
        if let number = Int32(upper), number > 0, number < 65 { return number }
        let bare = upper.hasPrefix("SIG") ? String(upper.dropFirst(3)) : upper
        let known: [String: Int32] = [
            "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "USR1": SIGUSR1, "USR2": SIGUSR2, "TERM": SIGTERM, "WINCH": SIGWINCH, "PWR": SIGPWR,
        ]
        return known[bare]
    }

    /// The processes in a report of `process PID` lines, each followed by its status lines.
    static func parse(_ report: String) -> [Process] {
        var processes: [Process] = []
        for line in report.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" }).map(String.init)
            guard let key = fields.first else { continue }
            if key == "process", fields.count == 2, let pid = Int(fields[1]) {
                processes.append(Process(pid: pid, namespacePIDs: [], ignored: 0, caught: 0))
                continue
            }
            guard !processes.isEmpty, fields.count >= 2 else { continue }
            switch key {
            case "NSpid": processes[processes.count - 1].namespacePIDs = fields.dropFirst().compactMap { Int($0) }
            case "SigIgn": processes[processes.count - 1].ignored = UInt64(fields[1], radix: 16) ?? 0
            case "SigCgt": processes[processes.count - 1].caught = UInt64(fields[1], radix: 16) ?? 0
            default: break
            }
        }
        return processes
    }

    /// Whether `signal` leaves every one of `receivers` running (none with a handler for it, none that
    /// would take its default action). False when there are none: nothing is known then.
    static func changesNothing(_ receivers: [Process], signal: Int32) -> Bool {
        guard !receivers.isEmpty, signal > 0, signal < 65 else { return false }
        let bit = UInt64(1) << UInt64(signal - 1)
        return receivers.allSatisfy { process in
            if process.ignored & bit != 0 { return true }
            if process.caught & bit != 0 { return false }
            // No handler: the default action, which the kernel does not take for its namespace's PID 1.
            return process.namespacePIDs.last == 1
        }
    }
}

/// Requests open on an app's ports, from the TCP tables of its network namespace (`/proc/PID/net/tcp`
/// and `tcp6`): a connection whose local port is one of the app's and that the app has not finished
/// with (established, being accepted, or closed by the client while the app still answers). Pure logic.
enum OpenRequests {
    /// TCP states (the kernel's numbering, in hex in the tables) in which a request may still be served.
    static let busyStates: Set<String> = ["01", "03", "08"]

    static func count(_ tables: String, ports: Set<Int>) -> Int {
        var open = 0
        for line in tables.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // sl local_address rem_address st ...
            guard fields.count > 3, fields[0].hasSuffix(":"), let colon = fields[1].lastIndex(of: ":") else { continue }
            guard let port = Int(fields[1][fields[1].index(after: colon)...], radix: 16), ports.contains(port) else { continue }
            if busyStates.contains(String(fields[3])) { open += 1 }
        }
        return open
    }
}

/// A stop that waits for requests, not the clock: for a container whose stop signal changes nothing
/// (``SignalReaction``), the time until its stop timeout is spent serving as before, and a request still
/// open when SIGKILL comes is cut all the same. Stopping it once no request is open on its ports serves
/// every request it took and ends the stop seconds sooner. Read on the host through the deploy's SSH
/// session (its kept runner: no channel of its own); `app.stop_when_idle: false` turns it off.
struct StopDrain {
    let session: SSHSession
    let pid: Int
    let ports: Set<Int>

    /// The receivers of the stop signal, with their status lines, once the host shows that `$1` is the
    /// container `$2`'s process (its cgroup names the container; a host whose sshd sees another PID
    /// namespace than the engine's fails here): `$1` itself, or with Docker's init (`$3` = 1) its children.
    static let receiversScript = #"""
        case "$(cat "/proc/$1/cgroup" 2>/dev/null)" in *"$2"*) ;; *) exit 3 ;; esac
        if [ "$3" = 1 ]; then set -- $(cat "/proc/$1"/task/*/children 2>/dev/null); else set -- "$1"; fi
        for p; do printf 'process %s\n' "$p"; grep -E '^(NSpid|SigIgn|SigCgt):' "/proc/$p/status" || exit 4; done
        """#

    /// A drain for `document`'s container (its `GET /containers/{id}/json`) when `signal` is shown to
    /// change nothing for it; nil when it may end the container, or when that cannot be read.
    static func prepare(session: SSHSession, document: JSONValue, signal: String, ports: Set<Int>) -> StopDrain? {
        guard let number = SignalReaction.number(signal), let id = document["Id"]?.string, id.allSatisfy(\.isHexDigit),
            let pid = document["State"]?["Pid"]?.number.map(Int.init), pid > 0
        else { return nil }
        let initProcess = document["HostConfig"]?["Init"]?.bool == true
        guard let read = try? session.capture(["sh", "-c", receiversScript, "tmeops", "\(pid)", id, initProcess ? "1" : "0"]), read.exit.succeeded,
            SignalReaction.changesNothing(SignalReaction.parse(read.stdoutText), signal: number)
        else { return nil }
        return StopDrain(session: session, pid: pid, ports: ports)
    }

    /// How many requests are open on the app's ports now; nil when the tables cannot be read (the
    /// process has ended).
    func openRequests() -> Int? {
        let script = #"cat "/proc/$1/net/tcp" || exit 1; cat "/proc/$1/net/tcp6" 2>/dev/null; exit 0"#
        guard let read = try? session.capture(["sh", "-c", script, "tmeops", "\(pid)"]), read.exit.succeeded else { return nil }
        return OpenRequests.count(read.stdoutText, ports: ports)
    }
}
