import Foundation

/// Runs a program on this machine (pg_dump, pg_restore, a local store's shell): standard error is read
/// on its own thread, so neither pipe can fill up and stall the other; standard output is collected, or
/// handed to `onStdout` as it arrives (a dump of any size in constant memory).
public enum LocalProcess {
    public struct Result: Sendable {
        public let status: Int32
        /// It died of a signal (`status` is then the signal's number).
        public let signaled: Bool
        public let stdout: Data
        public let stderr: Data
    }

    /// `argv[0]` is looked up on PATH (or is a path); it runs in `directory`, by default this process's
    /// own. Throws only when the program cannot be started.
    public static func run(
        _ argv: [String], environment: [String: String]? = nil, directory: URL? = nil, stdin: Data? = nil,
        onStdout: ((Data) throws -> Void)? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = directory }
        let output = Pipe()
        let errors = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try? input.fileHandleForWriting.close()
        nonisolated(unsafe) var errorData = Data()
        let reader = Thread { errorData = errors.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        var collected = Data()
        do {
            while true {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                if let onStdout { try onStdout(chunk) } else { collected.append(chunk) }
            }
        } catch {
            process.terminate()
            _ = exitStatus(of: process)
            while !reader.isFinished { usleep(1000) }
            throw error
        }
        let (status, signaled) = exitStatus(of: process)
        while !reader.isFinished { usleep(1000) }
        return Result(status: status, signaled: signaled, stdout: collected, stderr: errorData)
    }

    /// Waits for `process` to end and returns its status (a signal's number when `signaled`): what every
    /// program tmeops starts is waited with. `Process.waitUntilExit()` alone is not
    /// enough on Linux: Foundation learns of the exit when a socket it leaves open in the child closes,
    /// and a daemon the child started (`dockerd … &` from a script) keeps that socket open after the
    /// child exits, so the wait never ends. The child is reaped here instead, and Foundation's own
    /// status is taken where it reaped it first.
    public static func exitStatus(of process: Process) -> (status: Int32, signaled: Bool) {
        #if os(Linux)
            let pid = process.processIdentifier
            while true {
                var status: Int32 = 0
                let reaped = waitpid(pid, &status, WNOHANG)
                if reaped == pid {
                    // WIFSIGNALED / WTERMSIG / WEXITSTATUS, which Swift does not import.
                    let signal = status & 0x7f
                    return signal != 0 && signal != 0x7f ? (signal, true) : ((status >> 8) & 0xff, false)
                }
                if reaped == -1 && errno == EINTR { continue }
                if reaped == -1 { break }  // ECHILD: Foundation reaped it and has its status
                usleep(5_000)
            }
        #endif
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal)
    }
}
