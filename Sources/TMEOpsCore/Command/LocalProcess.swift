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
            process.waitUntilExit()
            while !reader.isFinished { usleep(1000) }
            throw error
        }
        process.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return Result(
            status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal, stdout: collected, stderr: errorData)
    }
}
