import TMEOpsHosts
import XCTest

/// Reading the kernel's TCP tables as `/proc/net/tcp` and `tcp6` print them. No sandbox needed.
final class SocketTableTests: XCTestCase {
    let tables = """
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 00000000:1F0A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
           1: 0100007F:0BB8 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
          sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0
        a line that is no row
        """

    func testEachRowsPortAndStateAreReadFromBothTablesAndOnlyListenersCountAsListening() {
        let rows = SocketTable.rows(tables)
        XCTAssertEqual(rows.map(\.port), [7946, 3000, 22])
        XCTAssertEqual(rows.map(\.state), ["0A", "01", "0A"])
        XCTAssertEqual(SocketTable.listeningPorts(tables), [7946, 22], "an established connection on 3000 is no listener")
        XCTAssertEqual(SocketTable.listeningPorts(""), [])
    }
}
