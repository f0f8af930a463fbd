// The composition root: every plugin is registered here, before anything is parsed.
import BackupPlugin
import Foundation
import ImagePlugin
import SchemaPlugin
import SwapPlugin
import TMEOpsCore
import TransferPlugin
import ValidatePlugin

/// Plugins shipped with tmeops, in the order `tmeops --help` shows them.
let builtInPlugins: [any Plugin.Type] = [
    TransferPlugin.self, ImagePlugin.self, SchemaPlugin.self, BackupPlugin.self, SwapPlugin.self, ValidatePlugin.self,
]

do {
    for plugin in builtInPlugins { try PluginRegistry.shared.register(plugin, origin: .builtIn) }
    for plugin in teamPlugins { try PluginRegistry.shared.register(plugin, origin: .team) }
} catch {
    FileDescriptorSink.standardError.write("error: \(error)\n")
    exit(ExitStatus.failure.rawValue)
}

await TMEOpsMain.main()
