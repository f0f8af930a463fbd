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

/// Work done for several hosts at once, each on a thread of its own.
public enum OnEachHost {
    /// `body` for every item at the same time, each on a thread of its own (not a pool's: a pool runs no
    /// more items at once than there are cores, and a host that waits, or streams logs until stopped,
    /// must not hold the others back); the results in the items' order. The items need not be
    /// `Sendable`: each is used by its own thread only, as each host's connections are (a libssh2
    /// session is used by one thread at a time), and the call returns only when every body has.
    public static func map<Item, Value>(_ items: [Item], _ body: @escaping (Item) throws -> Value) -> [Result<Value, Error>] {
        if items.count == 1 { return [Result { try body(items[0]) }] }
        let slots = ResultSlots<Value>(count: items.count)
        let group = DispatchGroup()
        let shared = UncheckedShare((items, body))
        for index in items.indices {
            group.enter()
            let thread = Thread {
                slots.set(index, Result { try shared.value.1(shared.value.0[index]) })
                group.leave()
            }
            thread.stackSize = 4 << 20
            thread.start()
        }
        group.wait()
        return slots.results
    }
}

/// A value handed to the threads of `OnEachHost.map`, which never use one item from two threads.
private struct UncheckedShare<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

extension Result {
    /// The error's text, when this is a failure.
    public var failureText: String? {
        if case .failure(let error) = self { return "\(error)" }
        return nil
    }
}
