# The sandbox's engines on Docker's containerd image store (Docker Desktop's, and Docker Engine's from
# version 29 on), beside the classic ones, so every combination of build machine and server is tested.
# Sourced by scripts/sandbox after fleet.bash (it uses their variables and helpers).
#
# - A build engine on this machine (like the local engine, no networking of its own): Debian 13's
#   dockerd 26 with `"features": {"containerd-snapshotter": true}`, its own containerd 1.7. The sample
#   app's version 1 is loaded into it from the first host's engine, and versions 2 to 4 are built there,
#   so their new layers are stored compressed, as on a developer's Mac.
# - A server: a fourth fleet machine (its own network and mount namespace, sshd, home folder and engine
#   socket, as the fleet's) whose dockerd is that engine, running its own PostgreSQL container and
#   version 1 of the app on port 80. It is not one of the fleet's three (no load balancer, no swarm):
#   the environment `store` deploys to it alone.
#
# The binaries come from scripts/fetch-docker-trixie; Debian 12's runc runs the containers.

STORE_N=4
STORE_LOCAL_SOCK=$DIR/local-docker-cd/docker.sock

trixie_bin() { "$here/fetch-docker-trixie"; }
store_addr() { fleet_addr "$STORE_N"; }
store_docker() { fleet_docker "$STORE_N" "$@"; }
store_home() { printf '%s/home' "$(fleet_dir "$STORE_N")"; }
store_database_url() { printf 'postgresql://%s:%s@%s:5432/%s' "$DB_USER" "$(secret db_password)" "$PG_CONTAINER" "$DB_NAME"; }
store_pg_ready() { store_docker exec "$PG_CONTAINER" pg_isready -q -h /tmp -U "$DB_USER" -d "$DB_NAME" 2>/dev/null; }
store_app_health() { fleet_app_health "$STORE_N"; }
cd_local_docker() { DOCKER_HOST=unix://$STORE_LOCAL_SOCK docker "$@"; }
cd_local_ping() { curl -fsS --max-time 2 --unix-socket "$STORE_LOCAL_SOCK" http://docker/_ping >/dev/null 2>&1; }

# The daemon.json of an engine on the containerd image store.
containerd_store_config() {
    printf '{\n  "features": { "containerd-snapshotter": true }\n}\n' > "$1"
}

start_cd_local_dockerd() {
    local dir=$DIR/local-docker-cd bin
    install -d -m 0711 "$dir" "$dir/data" "$dir/exec"
    if alive "$dir/docker.pid" && cd_local_ping; then return 0; fi
    bin=$(trixie_bin)
    containerd_store_config "$dir/daemon.json"
    rm -f "$dir/docker.pid" "$STORE_LOCAL_SOCK"
    # As the local engine: it builds and stores images, and must not touch this machine's network.
    PATH=$bin:$PATH setsid "$bin/dockerd" --config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "$dir/exec" \
        --pidfile "$dir/docker.pid" --host "unix://$STORE_LOCAL_SOCK" --bridge none --iptables=false --ip-masq=false \
        >>"$dir/dockerd.log" 2>&1 < /dev/null &
    for _ in $(seq 300); do cd_local_ping && break; sleep 0.1; done
    cd_local_ping || { tail -n 20 "$dir/dockerd.log" >&2; die "the containerd-store build engine did not answer on $STORE_LOCAL_SOCK; see $dir/dockerd.log"; }
    [[ $(cd_local_docker info -f '{{json .DriverStatus}}') == *io.containerd.snapshotter.v1* ]] ||
        die "the build engine at $STORE_LOCAL_SOCK does not use the containerd image store; see $dir/dockerd.log"
}

# image_content ENGINE IMAGE: what makes two engines' copies of an image the same (their IDs differ
# between the stores): its layers and its creation time.
image_content() { "$1" image inspect -f '{{.Created}} {{json .RootFS.Layers}}' "$2" 2>/dev/null || true; }

# copy_image FROM TO IMAGE: IMAGE from one engine's CLI function to another's, unless it has it already.
copy_image() {
    local want; want=$(image_content "$1" "$3")
    [[ -n $want && $want == "$(image_content "$2" "$3")" ]] && return 0
    "$1" save "$3" | "$2" load -q >/dev/null
}

seed_cd_local_engine() {
    copy_image docker_ cd_local_docker "$APP_IMAGE:$APP_TAG"
    local version context
    for version in 2 3 4; do
        # Rebuilt when version 1 changed: a version built FROM an older one is stale.
        if cd_local_docker image inspect "$APP_IMAGE:sandbox-$version" >/dev/null 2>&1 &&
            [[ $(cd_local_docker image inspect -f '{{index .RootFS.Layers 0}}' "$APP_IMAGE:sandbox-$version") == \
                "$(cd_local_docker image inspect -f '{{index .RootFS.Layers 0}}' "$APP_IMAGE:$APP_TAG")" ]]; then
            continue
        fi
        context=$(mktemp -d)
        cp "$here/sandbox.d/app-v$version.Dockerfile" "$context/Dockerfile"
        cd_local_docker build -q -t "$APP_IMAGE:sandbox-$version" "$context" >/dev/null 2>&1 ||
            die "building sample app version $version on the containerd-store build engine failed"
        rm -rf "$context"
    done
}

ensure_store_env_file() {
    local env_file; env_file=$(store_home)/.env
    (umask 077; printf '# tme-portal production settings (docker compose: env_file: .env)\nNODE_ENV=production\nDATABASE_URL="%s"\n' \
        "$(store_database_url)" > "$env_file.tmp")
    chown "$REMOTE_USER:$REMOTE_USER" "$env_file.tmp" && chmod 0600 "$env_file.tmp" && mv "$env_file.tmp" "$env_file"
    install -d -o 1000 -g 1000 -m 0755 "$(store_home)/uploads"
}

ensure_store_containers() {
    local password_file=$DIR/secrets/postgres_password_file
    store_docker network inspect "$NETWORK" >/dev/null 2>&1 || store_docker network create "$NETWORK" >/dev/null
    if ! fleet_running "$STORE_N" "$PG_CONTAINER"; then
        store_docker rm -f "$PG_CONTAINER" >/dev/null 2>&1 || true
        store_docker run -d --name "$PG_CONTAINER" --network "$NETWORK" --restart unless-stopped \
            --label com.docker.compose.project=tme-user --label com.docker.compose.service=postgres \
            -e POSTGRES_USER="$DB_USER" -e POSTGRES_DB="$DB_NAME" \
            -v tme-user_postgres_data:/var/lib/postgresql/data \
            -v "$password_file:/run/secrets/postgres_password:ro" "$PG_IMAGE" >/dev/null
    fi
    for _ in $(seq 150); do store_pg_ready && break; sleep 0.2; done
    store_pg_ready || { store_docker logs --tail 20 "$PG_CONTAINER" >&2; die "$PG_CONTAINER on the containerd-store server did not become ready"; }
    if ! fleet_running "$STORE_N" "$APP_CONTAINER"; then
        store_docker rm -f "$APP_CONTAINER" >/dev/null 2>&1 || true
        # As compose made it (see ensure_containers).
        store_docker run -d --init --name "$APP_CONTAINER" --network "$NETWORK" --network-alias app --restart unless-stopped \
            -p 80:3000 --memory 512m --log-opt max-size=10m --log-opt max-file=3 --stop-timeout 3 \
            -v "$REMOTE_HOME/uploads:/app/uploads" -v tme-user_app_data:/app/data \
            -e NODE_ENV=production -e "DATABASE_URL=$(store_database_url)" \
            --label com.docker.compose.project=tme-user --label com.docker.compose.service=app \
            --label com.docker.compose.container-number=1 --label com.docker.compose.oneoff=False \
            --label com.docker.compose.version=2.24.6 --label com.docker.compose.project.working_dir="$REMOTE_HOME" \
            --label com.docker.compose.project.config_files="$REMOTE_HOME/docker-compose.yml" \
            --label app=tme-portal "$APP_IMAGE:$APP_TAG" >/dev/null
    fi
    for _ in $(seq 100); do store_app_health >/dev/null 2>&1 && return 0; sleep 0.2; done
    die "the app on the containerd-store server does not answer 200 on /api/health; see: DOCKER_HOST=unix://$(fleet_socket "$STORE_N") docker logs $APP_CONTAINER"
}

store_seed_database() {
    local files=("$here"/sandbox.d/migrations/*.sql) production=() sql
    for sql in "${files[@]}"; do [[ $(basename "$sql") < 010 ]] && production+=("$sql"); done
    store_docker exec "$PG_CONTAINER" psql -qX -h /tmp -U "$DB_USER" -d postgres -v ON_ERROR_STOP=1 \
        -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME" >/dev/null
    cat "${production[@]}" "$here/sandbox.d/seed-data.sql" |
        store_docker exec -i "$PG_CONTAINER" psql -qX -h /tmp -U "$DB_USER" -d "$DB_NAME" -v ON_ERROR_STOP=1 >/dev/null
}

store_up() {
    copy_image docker_ store_docker "$PG_IMAGE"
    local old; old=$(image_content store_docker "$APP_IMAGE:$APP_TAG")
    copy_image docker_ store_docker "$APP_IMAGE:$APP_TAG"
    # A new sample app: its container goes, to be made again from it.
    [[ $old == "$(image_content store_docker "$APP_IMAGE:$APP_TAG")" ]] || store_docker rm -f "$APP_CONTAINER" >/dev/null 2>&1 || true
    ensure_store_env_file
    ensure_store_containers
    local tables
    tables=$(store_docker exec "$PG_CONTAINER" psql -qXtA -h /tmp -U "$DB_USER" -d "$DB_NAME" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    [[ $tables != 0 ]] || store_seed_database
}

# The server back to its start: version 1, no deploy state or backups, the database at 009.
store_seed() { # store_seed [--fast]
    local image fast=${1:-}
    store_docker rm -f "$APP_CONTAINER-old" "$APP_CONTAINER-new" "$APP_CONTAINER-test" "$APP_CONTAINER-proxy" >/dev/null 2>&1 || true
    if [[ $fast == --fast ]] && seed_app_unchanged "$(cat "$(fleet_dir "$STORE_N")/seed-app" 2>/dev/null)" store_docker; then :; else
        store_docker rm -f "$APP_CONTAINER" >/dev/null 2>&1 || true
    fi
    for image in $(store_docker images --format '{{.Repository}}:{{.Tag}}' | grep "^$APP_IMAGE:" | grep -v ":$APP_TAG\$" || true); do
        store_docker rmi "$image" >/dev/null 2>&1 || true
    done
    store_docker image prune -f >/dev/null 2>&1 || true
    rm -rf "$(store_home)/.tmeops" "$(store_home)/backups"
    install -d -o "$REMOTE_USER" -g "$REMOTE_USER" -m 0750 "$(store_home)/backups"
    ensure_store_env_file
    ensure_store_containers
    seed_app_record store_docker > "$(fleet_dir "$STORE_N")/seed-app"
    if [[ $fast == --fast ]]; then
        store_docker exec "$PG_CONTAINER" psql -qX -h /tmp -U "$DB_USER" -d postgres -v ON_ERROR_STOP=1 \
            -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME TEMPLATE $SEED_TEMPLATE" >/dev/null
        log "seeded the containerd-store server from its template: $APP_IMAGE:$APP_TAG, $DB_NAME at 009 (adopted)"
        return
    fi
    store_seed_database
    log "seeded the containerd-store server: $APP_IMAGE:$APP_TAG, $DB_NAME at 009"
}

store_seed_save() { # store_seed_save KEY
    store_docker exec "$PG_CONTAINER" psql -qX -h /tmp -U "$DB_USER" -d postgres -v ON_ERROR_STOP=1 \
        -c "DROP DATABASE IF EXISTS $SEED_TEMPLATE" -c "CREATE DATABASE $SEED_TEMPLATE" >/dev/null
    store_docker exec "$PG_CONTAINER" sh -c 'pg_dump -h /tmp -U "$1" "$2" | psql -qX -h /tmp -U "$1" -d "$3" -v ON_ERROR_STOP=1' \
        sh "$DB_USER" "$DB_NAME" "$SEED_TEMPLATE" >/dev/null
    seed_key "$1" > "$(fleet_dir "$STORE_N")/seed-template.key"
    log "saved the containerd-store server's seeded database as $SEED_TEMPLATE for seed store --fast"
}

store_status() {
    check "store sshd" "alive $(fleet_dir "$STORE_N")/ssh/sshd.pid" "$REMOTE_USER@$(store_addr):22"
    check "store docker engine" "fleet_docker_ping $STORE_N" "containerd image store, $FLEET_SOCK (from here: $(fleet_socket "$STORE_N"))"
    check "store app container" "store_app_health" "$APP_CONTAINER, $(store_addr):80"
    check "containerd build engine" "cd_local_ping" "$STORE_LOCAL_SOCK"
}

store_env() {
    cat <<ENV
SANDBOX_STORE_HOST=$(store_addr)
SANDBOX_STORE_DOCKER_SOCKET=$(fleet_socket "$STORE_N")
SANDBOX_STORE_HOME=$(store_home)
SANDBOX_LOCAL_CD_DOCKER_SOCKET=$STORE_LOCAL_SOCK
ENV
}
