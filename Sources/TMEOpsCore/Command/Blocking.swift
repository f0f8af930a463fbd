import Foundation

/// Runs blocking work (libssh2, libpq, file I/O) on a thread of its own, so that it never occupies
/// one of Swift's cooperative threads.
public func runBlocking<T: Sendable>(_ name: String = "tmeops blocking work", _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.name = name
        thread.stackSize = 4 << 20
        thread.start()
    }
}
