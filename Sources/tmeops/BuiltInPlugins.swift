import BackupPlugin
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

/// Registers every compiled-in plugin: built-in first, then the team's (from the generated list).
func registerPlugins(into registry: PluginRegistry) throws {
    for plugin in builtInPlugins { try registry.register(plugin, origin: .builtIn) }
    for plugin in teamPlugins { try registry.register(plugin, origin: .team) }
}
