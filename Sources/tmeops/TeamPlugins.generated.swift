// GENERATED FILE. DO NOT EDIT! Regenerate with `make generate` (tmeops plugin generate).
// Team plugins compiled into this binary, one per Plugins/*/plugin.yml.
import TMEOpsCore

let teamPlugins: [any Plugin.Type] = []
