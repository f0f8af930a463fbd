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
    // The schema plugin cannot depend on the backup plugin (which depends on it); its `schema sync`
    // takes the target's backup through this hook, wired here at the composition root.
    SchemaSyncCommand.backupBeforeChange = { environment, context in
        try BackupService.create(environment, context: context, options: .init(label: "pre-sync")).id
    }
    // `migrate apply` on a protected environment takes the deploy lock and a backup first.
    ProtectedChange.take = { config, environment, context, purpose in
        try ProtectedChanges.take(config: config, environment: environment, context: context, purpose: purpose)
    }
    for plugin in builtInPlugins { try registry.register(plugin, origin: .builtIn) }
    for plugin in teamPlugins { try registry.register(plugin, origin: .team) }
}
