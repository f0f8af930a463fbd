import Foundation

/// The kernel's TCP socket tables as `/proc/net/tcp` and `/proc/net/tcp6` print them (one row per
/// socket: `sl local_address rem_address st ...`, addresses and ports in hex). Read over SSH, they tell
/// what a host or a container's network namespace listens on and what it is still serving, with no tool
/// installed there. Pure logic.
public enum SocketTable {
    /// The TCP state a listening socket has in the tables.
    public static let listening = "0A"

    /// Each row's local port and state (the state as the kernel's two hex digits); headers and
    /// malformed lines are skipped.
    public static func rows(_ tables: String) -> [(port: Int, state: String)] {
        tables.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // The local port follows the address's last colon.
            guard fields.count > 3, fields[0].hasSuffix(":"), let colon = fields[1].lastIndex(of: ":"),
                let port = Int(fields[1][fields[1].index(after: colon)...], radix: 16)
            else { return nil }
            return (port, String(fields[3]))
        }
    }

    /// The ports something listens on.
    public static func listeningPorts(_ tables: String) -> Set<Int> {
        Set(rows(tables).filter { $0.state == listening }.map(\.port))
    }
}
