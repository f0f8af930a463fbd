import Foundation
import TMEOpsCore
import TMEOpsSSH

/// Releases of tmeops before each environment had its own state folder kept the lock, journal, ledger
/// and audit of every environment in `~/.tmeops/<app>/`. The first command of this release that meets
/// such a folder moves those files into its environment's folder, so that no history is lost and the
/// old place can no longer be locked by an older tmeops deploying beside a newer one.
extension RemoteState {
    /// What `moveSharedState` did.
    public enum SharedStateMove: Equatable, Sendable {
        /// Nothing was kept in the old place (the usual case).
        case nothing
        /// The old files (those named) are now in this environment's folder.
        case moved([String])
    }

    /// The files of the old layout, in the order they are moved (the lock last: until it moves, an
    /// older tmeops that still runs keeps seeing its own lock).
    public static let sharedStateFiles = ["releases.jsonl", "audit.jsonl", "journals", "journal.jsonl", "lock"]

    /// Moves the old shared state into `base`, atomically as far as a reader can tell: the files are
    /// gathered in `<app>/.moving-<env>` and that folder is renamed to `<app>/<env>` in one step, so a
    /// command sees either the old place or the whole new one. A move killed half way is finished by the
    /// next command that meets it. When the environment's folder exists already (an older tmeops wrote
    /// to the old place after the move), the old lines go before its own, nothing replaced.
    ///
    /// A lock in the old place renewed within `lockTTL` belongs to an older tmeops that may still be
    /// deploying: nothing is moved, and the error says so. Afterwards `<app>/lock` is a file saying where
    /// the state went, so an older tmeops cannot take a lock there (its `mkdir` fails) and refuses.
    public func moveSharedState(lockTTL: TimeInterval) throws -> SharedStateMove {
        let output = try session.capture(
            ["sh", "-c", Self.moveScript, "tmeops", appBase, environment, String(max(1, Int((lockTTL / 60).rounded(.up))))] + Self.sharedStateFiles)
        switch output.exit.status {
        case 0:
            let moved = output.stdoutText.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            return moved.isEmpty ? .nothing : .moved(moved)
        case 4:
            throw TMEOpsError(
                "~/\(appBase)/lock on \(host) is held by an older tmeops that kept every environment's state in ~/\(appBase) (renewed within \(ConfigDuration(seconds: lockTTL))): let that deploy finish (or break the lock with it), then run this again; nothing was moved"
            )
        default:
            throw TMEOpsError(
                "moving ~/\(appBase)'s state into ~/\(base) on \(host) failed (exit \(output.exit.status)): \(output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)); nothing was lost: the files are in ~/\(appBase) or ~/\(appBase)/.moving-\(environment)"
            )
        }
    }

    /// `moveSharedState`, its move said as a warning (what moved, where, and what it means).
    public func moveSharedState(lockTTL: TimeInterval, context: CommandContext) throws {
        guard case .moved(let files) = try moveSharedState(lockTTL: lockTTL) else { return }
        context.logger.warning(
            "moved \(files.joined(separator: ", ")) from ~/\(appBase) into ~/\(base) on \(host): each environment now keeps its own lock, journal, ledger and audit. Releases recorded there before the move are all shown as \(environment)'s; an older tmeops can no longer lock ~/\(appBase) (upgrade it)"
        )
    }

    /// `$1` the app's folder, `$2` the environment, `$3` the lock's TTL in minutes, then the file names.
    /// Prints each name it moved. Exit 4: the old lock is still being renewed.
    static let moveScript = #"""
        set -u
        app=$1 env=$2 ttl=$3; shift 3
        cd || exit 1
        [ -d "$app" ] || exit 0
        staging="$app/.moving-$env" target="$app/$env"
        pending=
        for name in "$@"; do
          if [ "$name" = lock ]; then [ -d "$app/lock" ] && pending=1; else [ -e "$app/$name" ] && pending=1; fi
        done
        mark() {
          [ -e "$app/lock" ] && return 0
          umask 077
          printf '%s\n' "Since tmeops keeps each environment's state in its own folder, this app's lock, journal, ledger and audit are in ~/$app/<environment>/. This file stops an older tmeops from taking a lock here; upgrade it." > "$app/lock"
        }
        if [ -z "$pending" ] && [ ! -d "$staging" ]; then
          [ -d "$target" ] && mark
          exit 0
        fi
        if [ -d "$app/lock" ]; then
          beat="$app/lock/heartbeat"; [ -e "$beat" ] || beat="$app/lock/owner.json"; [ -e "$beat" ] || beat="$app/lock"
          [ -n "$(find "$beat" -maxdepth 0 -mmin "-$ttl" 2>/dev/null)" ] && exit 4
        fi
        mkdir -p -m 700 -- "$staging" || exit 1
        for name in "$@"; do
          if [ "$name" = lock ] && [ ! -d "$app/lock" ]; then continue; fi
          [ -e "$app/$name" ] || continue
          if [ -e "$staging/$name" ]; then echo "$staging/$name exists already" >&2; exit 1; fi
          mv -- "$app/$name" "$staging/$name" || exit 1
          echo "$name"
        done
        sync -- "$staging" 2>/dev/null
        if [ ! -e "$target" ]; then
          mv -T -- "$staging" "$target" 2>/dev/null || [ -d "$target" ] || exit 1
        fi
        if [ -d "$staging" ]; then
          # The environment's folder is there: older lines go first, nothing of it is replaced.
          for path in "$staging"/* "$staging"/journals/*; do
            [ -e "$path" ] || continue
            name=${path#"$staging"/}
            case "$name" in
              journals) continue ;;
              *.jsonl)
                if [ -e "$target/$name" ]; then
                  umask 077; cat -- "$path" "$target/$name" > "$target/$name.merge" && mv -f -- "$target/$name.merge" "$target/$name" && rm -f -- "$path" || exit 1
                else
                  mkdir -p -m 700 -- "$(dirname -- "$target/$name")" && mv -- "$path" "$target/$name" || exit 1
                fi ;;
              lock)
                if [ -e "$target/lock" ]; then mv -T -- "$path" "$target/lock.moved-$(date +%s)" || exit 1; else mv -T -- "$path" "$target/lock" || exit 1; fi ;;
            esac
          done
          rmdir -- "$staging/journals" 2>/dev/null; rmdir -- "$staging" || exit 1
        fi
        mark
        exit 0
        """#
}
