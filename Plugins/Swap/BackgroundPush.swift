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
    /// The host of an environment of several it pushes to (nil: the environment's one host).
    let host: String?
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

    /// Called with the bytes sent so far and the bytes to send, as the push goes.
    var progress: @Sendable (UInt64, UInt64) -> Void = { _, _ in }
    /// `transfer.compression`.
    let compression: TransferConfig.Compression
    /// `build.platform`: the platform a multi-platform image is delivered for.
    let platform: String?

    init(
        environment: EnvironmentConfig, context: CommandContext, image: String, host: String? = nil, compression: TransferConfig.Compression = .auto,
        platform: String? = nil
    ) {
        self.environment = environment
        self.context = context
        self.image = image
        self.host = host
        self.compression = compression
        self.platform = platform
    }

    func start() {
        let thread = Thread { [self] in
            result = Result {
                let local = try DockerEngines.local(context)
                // The local engine starts writing its export before the SSH connection is even made. It
                // is the bare image's (by its ID): the deploy tags the release on the server itself, and
                // the operator's tag moves there only once the release has passed its gates.
                let id = try local.image(image)?.id
                let export = try? ImagePush.startExport(id ?? image, from: local, logger: context.logger)
                do {
                    let (remote, session) = try DockerEngines.remote(environment, host.map { .named($0) } ?? .only, context: context)
                    defer { session.close() }
                    var push = ImagePush(local: local, remote: remote, logger: context.logger)
                    push.progress = progress
                    push.platform = platform
                    push.tagRemote = false
                    push.compression = { [compression, context] in
                        WireCompression.choose(compression, session: session, engine: remote, logger: context.logger)
                    }
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

/// The image pushes of one deploy, one per host, all running at once (each host gets only the layers it
/// lacks, on its own SSH connection).
struct PushGroup {
    let pushes: [BackgroundPush]
    /// One bar for all of them (bytes sent to every host over bytes to send to every host), drawn on a
    /// terminal only while the deploy waits for the pushes (`showProgress()`); in CI, a log line each quarter.
    let progress: ProgressReporter

    /// One push per host of `hosts` (a single host is reached as the environment's only one), each on
    /// the wire as `config`'s `transfer.compression` says.
    init(environment: EnvironmentConfig, config: LoadedConfig, context: CommandContext, image: String, hosts: [String]) {
        let compression = config.section(TransferConfig.self)?.compression ?? .auto
        let platform = config.section(BuildConfig.self)?.platform
        pushes = hosts.map {
            BackgroundPush(
                environment: environment, context: context, image: image, host: hosts.count > 1 ? $0 : nil, compression: compression, platform: platform)
        }
        let reporter = ProgressReporter(
            label: "push \(image)\(hosts.count > 1 ? " to \(hosts.count) hosts" : "")", sink: context.errorSink, logger: context.logger,
            quiet: context.options.quiet || context.json, muted: true)
        progress = reporter
        let totals = ProgressTotals(count: pushes.count)
        for (index, push) in pushes.enumerated() {
            push.progress = { done, total in
                let (sum, whole) = totals.set(index, done, total)
                reporter.update(sum, whole)
            }
        }
    }

    /// The bar from now on, while the deploy waits; ended by `wait()`.
    func showProgress() { progress.unmute() }

    func start() {
        for push in pushes { push.start() }
    }

    func proceed() {
        for push in pushes { push.proceed() }
    }

    func cancel() {
        for push in pushes { push.cancel() }
    }
    var isFinished: Bool { pushes.allSatisfy(\.isFinished) }

    /// Waits for every push; the first failure, naming its host when there are several.
    func wait() throws -> [ImagePush.Report] {
        defer { progress.finish() }
        var reports: [ImagePush.Report] = []
        var failure: Error?
        for push in pushes {
            do {
                reports.append(try push.wait())
            } catch {
                if failure == nil { failure = push.host.map { TMEOpsError("pushing the image to \($0) failed: \(error)") } ?? error }
            }
        }
        if let failure { throw failure }
        return reports
    }
}

/// The bytes each push of a group has sent and has to send, summed for one bar.
final class ProgressTotals: @unchecked Sendable {
    private let lock = NSLock()
    private var done: [UInt64]
    private var total: [UInt64]

    init(count: Int) {
        done = Array(repeating: 0, count: count)
        total = Array(repeating: 0, count: count)
    }

    func set(_ index: Int, _ sent: UInt64, _ whole: UInt64) -> (UInt64, UInt64) {
        lock.withLock {
            done[index] = sent
            total[index] = whole
            return (done.reduce(0, +), total.reduce(0, +))
        }
    }
}
