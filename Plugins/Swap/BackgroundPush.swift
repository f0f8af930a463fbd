import Foundation
import ImagePlugin
import TMEOpsCore
import TMEOpsHosts

/// An image push on a thread of its own, with its own SSH connection to the host (a libssh2 session is
/// used by one thread at a time). It starts as the deploy does: the local export, the connection and
/// the question of which layers the host has all happen while the plan is made and preflight runs; it
/// loads nothing on the host until `proceed()`, and `cancel()` stops it with nothing loaded.
final class BackgroundPush: @unchecked Sendable {
    let environment: EnvironmentConfig
    let context: CommandContext
    let image: String
    private var result: Result<ImagePush.Report, Error>? {
        get { lock.withLock { storedResult } }
        set { lock.withLock { storedResult = newValue } }
    }
    private var storedResult: Result<ImagePush.Report, Error>?
    private let done = DispatchSemaphore(value: 0)
    private let gate = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var cancelled = false
    private var thread: Thread?

    init(environment: EnvironmentConfig, context: CommandContext, image: String) {
        self.environment = environment
        self.context = context
        self.image = image
    }

    func start() {
        let thread = Thread { [self] in
            result = Result {
                let local = try DockerEngines.local(context)
                // The local engine starts writing its export before the SSH connection is even made.
                let export = try? ImagePush.startExport(image, from: local, logger: context.logger)
                do {
                    let (remote, session) = try DockerEngines.remote(environment, context: context)
                    defer { session.close() }
                    var push = ImagePush(local: local, remote: remote, logger: context.logger)
                    push.beforeLoading = { [self] in
                        gate.wait()
                        gate.signal()
                        if lock.withLock({ cancelled }) { throw TMEOpsError("the deploy stopped before the image was sent") }
                    }
                    return try push.push(image, export: export)
                } catch {
                    export?.cancel()
                    throw error
                }
            }
            done.signal()
        }
        thread.stackSize = 4 << 20
        self.thread = thread
        thread.start()
    }

    /// Lets the push load the image on the host (preflight has passed).
    func proceed() { gate.signal() }

    var isFinished: Bool { result != nil }

    /// Stops the push before it loads anything, and waits for its thread.
    func cancel() {
        lock.withLock { cancelled = true }
        gate.signal()
        _ = try? wait()
    }

    /// Waits for the push; its error, if it failed. Later calls return the same.
    func wait() throws -> ImagePush.Report {
        done.wait()
        done.signal()
        return try result!.get()
    }
}
