import BackupPlugin
import ImagePlugin
import SchemaPlugin
import SwapPlugin
import SwarmPlugin
import TMEOpsCore
import TMEOpsHosts
import TransferPlugin
import ValidatePlugin

/// Plugins shipped with tmeops, in the order `tmeops --help` shows them.
let builtInPlugins: [any Plugin.Type] = [
    TransferPlugin.self, ImagePlugin.self, SchemaPlugin.self, BackupPlugin.self, SwapPlugin.self, SwarmPlugin.self, ValidatePlugin.self,
]

/// Registers every compiled-in plugin: the host layer's sections first, then the built-in plugins, then
/// the team's (from the generated list). Plugins reach each other's services through the registry.
func registerPlugins(into registry: PluginRegistry) throws {
    if !registry.isRegistered(HostLayer.self) { try registry.register(HostLayer.self, origin: .core) }
    for plugin in builtInPlugins { try registry.register(plugin, origin: .builtIn) }
    for plugin in teamPlugins { try registry.register(plugin, origin: .team) }
}
