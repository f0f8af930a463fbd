import Foundation
import Logging
import TMEOpsCore
import TMEOpsTestSupport

/// The shared harness, under a name local to these tests.
typealias TestHarnessLite = TestHarness
