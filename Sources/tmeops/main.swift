// The composition root: every plugin is registered here, before anything is parsed.
import Foundation
import TMEOpsCore

do {
    try registerPlugins(into: .shared)
} catch {
    FileDescriptorSink.standardError.write("error: \(error)\n")
    exit(ExitStatus.failure.rawValue)
}

await TMEOpsMain.main()
