import Foundation

/// One result per index, filled from concurrent work (`DispatchQueue.concurrentPerform`) under a lock.
public final class ResultSlots<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<Value, Error>?]

    public init(count: Int) { slots = Array(repeating: nil, count: count) }

    public func set(_ index: Int, _ result: Result<Value, Error>) { lock.withLock { slots[index] = result } }

    /// Every result, in index order (a slot never filled reads as an error).
    public var results: [Result<Value, Error>] {
        lock.withLock { slots.map { $0 ?? .failure(CancellationError()) } }
    }
}
