#!/bin/sh
# tmeops scheduled backup of {{app}} ({{environment}}), installed by `tmeops backup schedule`.
# It writes what `tmeops backup create` writes: <id>.dump (0600) and <id>.json beside it, through .part
# files renamed into place, then applies the same keep rules (restic's: last / daily / ISO-weekly /
# monthly, OR'ed; never the newest verified backup or one a release pins). It logs to scheduled.log.
set -u
CONTAINER={{container}}
DB_USER={{db_user}}
DB_NAME={{db_name}}
ENVIRONMENT={{environment_quoted}}
DB_PORT={{db_port}}
DIR={{dir}}
KEEP_LAST={{keep_last}}
KEEP_DAILY={{keep_daily}}
KEEP_WEEKLY={{keep_weekly}}
KEEP_MONTHLY={{keep_monthly}}
DOCKER_HOST={{docker_host}}
export DOCKER_HOST
umask 077
mkdir -p "$DIR/pins" || exit 1
LOG="$DIR/scheduled.log"
log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >> "$LOG"; }

started=$(date -u +%s)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
id="$(date -u +%Y%m%d-%H%M%S)-scheduled"
file="$id.dump"
socket_script='for d in /var/run/postgresql /tmp; do if [ -S "$d/.s.PGSQL.$3" ]; then export PGHOST="$d"; fi; done; export PGPORT="$3"; exec pg_dump -Fc -U "$1" -d "$2"'
if ! docker exec "$CONTAINER" sh -c "$socket_script" tmeops "$DB_USER" "$DB_NAME" "$DB_PORT" > "$DIR/$file.part" 2> "$DIR/$id.err"; then
    log "FAILED $id: pg_dump: $(tr '\n' ' ' < "$DIR/$id.err")"
    rm -f "$DIR/$file.part" "$DIR/$id.err"
    exit 1
fi
rm -f "$DIR/$id.err"
size=$(wc -c < "$DIR/$file.part" | tr -d ' ')
sha=$(sha256sum "$DIR/$file.part" | cut -c1-64)
version=$(docker exec "$CONTAINER" sh -c 'for d in /var/run/postgresql /tmp; do [ -S "$d/.s.PGSQL.$3" ] && export PGHOST="$d"; done; export PGPORT="$3"; psql -X -tA -U "$1" -d "$2" -c "SHOW server_version_num"' tmeops "$DB_USER" "$DB_NAME" "$DB_PORT" 2>/dev/null | tr -d ' \n')
duration=$(( ($(date -u +%s) - started) * 1000 ))
printf '{\n  "compression" : null,\n  "created_at" : "%s",\n  "database" : "%s",\n  "duration_ms" : %s,\n  "environment" : "%s",\n  "file" : "%s",\n  "format" : "custom",\n  "id" : "%s",\n  "label" : "scheduled",\n  "schema_hash" : null,\n  "server_version" : %s,\n  "sha256" : "%s",\n  "size" : %s,\n  "source" : "scheduled job",\n  "table_rows" : {\n\n  },\n  "tmeops_version" : "{{tmeops_version}}"\n}\n' \
    "$created" "$DB_NAME" "$duration" "$ENVIRONMENT" "$file" "$id" "${version:-0}" "$sha" "$size" > "$DIR/$id.json.part"
if ! mv -f "$DIR/$file.part" "$DIR/$file" || ! mv -f "$DIR/$id.json.part" "$DIR/$id.json"; then
    log "FAILED $id: could not move the files into place"
    rm -f "$DIR/$file.part" "$DIR/$id.json.part"
    exit 1
fi
log "created $id ($size bytes, sha256 $sha)"

# Retention: one line per backup (newest first): id created verified pinned.
list=$(for meta in "$DIR"/*.json; do
    [ -f "$meta" ] || continue
    bid=$(basename "$meta" .json)
    # Only this environment's backups: another may share the folder (staging beside production). A
    # backup from before the environment was recorded is its database's.
    db=$(sed -n 's/^  "database" : "\([^"]*\)".*/\1/p' "$meta")
    env=$(sed -n 's/^  "environment" : "\([^"]*\)".*/\1/p' "$meta")
    [ "$db" = "$DB_NAME" ] || continue
    [ -z "$env" ] || [ "$env" = "$ENVIRONMENT" ] || continue
    at=$(sed -n 's/^  "created_at" : "\([^"]*\)".*/\1/p' "$meta")
    verified=no
    grep -q '"ok" : true' "$meta" && verified=yes
    pinned=no
    [ -f "$DIR/pins/$bid" ] && pinned=yes
    day=$(date -u -d "$at" +%Y-%m-%d 2>/dev/null || echo unknown)
    week=$(date -u -d "$at" +%G-W%V 2>/dev/null || echo unknown)
    month=$(date -u -d "$at" +%Y-%m 2>/dev/null || echo unknown)
    echo "$at $bid $verified $pinned $day $week $month"
done | sort -r)
keep=$(printf '%s\n' "$list" | awk -v last="$KEEP_LAST" -v daily="$KEEP_DAILY" -v weekly="$KEEP_WEEKLY" -v monthly="$KEEP_MONTHLY" '
    NF < 7 { next }
    { n++; keep = 0
      if (n <= last) keep = 1
      if ($5 != "unknown" && !($5 in d) && nd < daily) { d[$5] = 1; nd++; keep = 1 }
      if ($6 != "unknown" && !($6 in w) && nw < weekly) { w[$6] = 1; nw++; keep = 1 }
      if ($7 != "unknown" && !($7 in m) && nm < monthly) { m[$7] = 1; nm++; keep = 1 }
      if ($5 in d) d[$5] = 1; if ($6 in w) w[$6] = 1; if ($7 in m) m[$7] = 1
      if ($3 == "yes" && !verified) { verified = 1; keep = 1 }
      if ($4 == "yes" || $5 == "unknown") keep = 1
      if (!keep) print $2 }')
for bid in $keep; do
    meta="$DIR/$bid.json"
    data=$(sed -n 's/^  "file" : "\([^"]*\)".*/\1/p' "$meta")
    rm -f "$meta" && [ -n "$data" ] && rm -f "$DIR/$data"
    log "pruned $bid"
done
exit 0
