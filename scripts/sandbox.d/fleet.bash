# The sandbox's fleet: three more servers behind a load balancer, for environments of several hosts.
# Sourced by scripts/sandbox (it uses that script's variables and helpers).
#
# Each server is a network namespace on one bridge (tmeops-br0, 10.97.150.0/24) with its own mount
# namespace, so that, as on real servers, each has its own home folder for the SSH user (remote state,
# backups, the app's env file) and its own Docker engine at the same socket path. Each runs sshd (its own
# host key) and dockerd; the first also runs the fleet's PostgreSQL container, published on its address
# so the app containers of all three reach it. Debian's nginx on this machine is the load balancer:
# 127.0.0.1:8080 and 10.97.150.1:8080, the three servers' port 80 as upstreams, at nginx's defaults.

FLEET_SIZE=3
# Machines made by the functions below: the fleet's three and the server on the containerd image store
# (store.bash), which is not one of the fleet's servers.
FLEET_MACHINES=4
FLEET_BRIDGE=tmeops-br0
FLEET_GATEWAY=10.97.150.1
FLEET_RUN=/run/tmeops-fleet   # the persistent mount namespaces (a private mount, as `ip netns` keeps its own)
FLEET_COMMON_RUN=$DIR/fleet/run   # every fleet server sees its own engine's socket here
FLEET_SOCK=$FLEET_COMMON_RUN/docker.sock
LB_PORT=8080

fleet_addr() { printf '10.97.150.1%s' "$1"; }
fleet_ns_path() { printf '/var/run/netns/tmeops-fleet%s' "$1"; }
fleet_dir() { printf '%s/fleet/h%s' "$DIR" "$1"; }
fleet_socket() { printf '%s/run/docker.sock' "$(fleet_dir "$1")"; }  # the same socket, seen from this machine
in_fleet() { local n=$1; shift; nsenter --net="$(fleet_ns_path "$n")" --mount="$FLEET_RUN/h$n.mnt" "$@"; }
fleet_docker() { local n=$1; shift; DOCKER_HOST=unix://$(fleet_socket "$n") docker "$@"; }
fleet_docker_ping() { curl -fsS --max-time 2 --unix-socket "$(fleet_socket "$1")" http://docker/_ping >/dev/null 2>&1; }
fleet_database_url() { printf 'postgresql://%s:%s@%s:5432/%s' "$DB_USER" "$(secret db_password)" "$(fleet_addr 1)" "$DB_NAME"; }

ensure_fleet_network() {
    ip link show "$FLEET_BRIDGE" >/dev/null 2>&1 || ip link add "$FLEET_BRIDGE" type bridge
    local addresses n ns host_if ns_if
    addresses=$(ip addr show dev "$FLEET_BRIDGE")
    [[ $addresses == *"$FLEET_GATEWAY/"* ]] || ip addr add "$FLEET_GATEWAY/24" dev "$FLEET_BRIDGE"
    ip link set "$FLEET_BRIDGE" up
    for n in $(seq "$FLEET_MACHINES"); do
        ns=tmeops-fleet$n host_if=tmeops-f${n}h ns_if=tmeops-f${n}s
        [[ -e $(fleet_ns_path "$n") ]] || ip netns add "$ns"
        if ! ip link show "$host_if" >/dev/null 2>&1; then
            ip link add "$host_if" type veth peer name "$ns_if"
            ip link set "$ns_if" netns "$ns"
        fi
        ip link set "$host_if" master "$FLEET_BRIDGE" up
        addresses=$(nsenter --net="$(fleet_ns_path "$n")" ip addr show dev "$ns_if")
        [[ $addresses == *"$(fleet_addr "$n")/"* ]] || nsenter --net="$(fleet_ns_path "$n")" ip addr add "$(fleet_addr "$n")/24" dev "$ns_if"
        nsenter --net="$(fleet_ns_path "$n")" ip link set "$ns_if" up
        nsenter --net="$(fleet_ns_path "$n")" ip link set lo up
    done
}

# A mount namespace kept in a file, as `ip netns` keeps network namespaces: made once, entered by every
# process of that server (sshd, dockerd, the checks below).
ensure_fleet_mounts() {
    local n
    install -d -m 0755 "$FLEET_RUN" "$FLEET_COMMON_RUN"
    mountpoint -q "$FLEET_RUN" || mount --bind "$FLEET_RUN" "$FLEET_RUN"
    mount --make-private "$FLEET_RUN"
    for n in $(seq "$FLEET_MACHINES"); do
        local dir file=$FLEET_RUN/h$n.mnt
        dir=$(fleet_dir "$n")
        install -d -m 0755 "$dir" "$dir/run" "$dir/ssh"
        install -d -o "$REMOTE_USER" -g "$REMOTE_USER" -m 0750 "$dir/home" "$dir/home/backups"
        nsenter --mount="$file" true 2>/dev/null && continue
        touch "$file"
        unshare --mount="$file" --propagation private true
        # The copies of this machine's sandbox mounts (the first host's engine, the small disk, the
        # network namespace files) would keep them busy from here: this server does not see them.
        nsenter --mount="$file" sh -c "grep -oE ' ($DIR|/run/netns|/var/run/netns|$FLEET_RUN)/[^ ]*' /proc/self/mounts | sort -r |
            while read -r m; do umount -l \"\$m\" 2>/dev/null || true; done"
        nsenter --mount="$file" mount --bind "$dir/home" "$REMOTE_HOME"
        nsenter --mount="$file" mount --bind "$dir/run" "$FLEET_COMMON_RUN"
    done
}

ensure_fleet_keys() {
    local n
    for n in $(seq "$FLEET_MACHINES"); do
        local dir; dir=$(fleet_dir "$n")
        [[ -s $dir/ssh/host_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C "tmeops-sandbox-fleet$n" -f "$dir/ssh/host_ed25519"
    done
    # known_hosts: the first host's lines (written by ensure_keys), then one line per fleet server.
    local lines; lines=$(grep -v '^10\.97\.150\.' "$DIR/client/known_hosts" || true)
    {
        printf '%s\n' "$lines"
        for n in $(seq "$FLEET_MACHINES"); do
            printf '%s %s\n' "$(fleet_addr "$n")" "$(cut -d' ' -f1,2 "$(fleet_dir "$n")/ssh/host_ed25519.pub")"
        done
    } > "$DIR/client/known_hosts.tmp"
    mv "$DIR/client/known_hosts.tmp" "$DIR/client/known_hosts"
}

ensure_fleet_env_files() {
    local n
    for n in $(seq "$FLEET_SIZE"); do
        local env_file; env_file=$(fleet_dir "$n")/home/.env
        (umask 077; printf '# tme-portal production settings (docker compose: env_file: .env)\nNODE_ENV=production\nDATABASE_URL="%s"\n' \
            "$(fleet_database_url)" > "$env_file.tmp")
        chown "$REMOTE_USER:$REMOTE_USER" "$env_file.tmp" && chmod 0600 "$env_file.tmp" && mv "$env_file.tmp" "$env_file"
        install -d -o 1000 -g 1000 -m 0755 "$(fleet_dir "$n")/home/uploads"
    done
}

start_fleet_sshd() {
    local n
    for n in $(seq "$FLEET_MACHINES"); do
        local dir; dir=$(fleet_dir "$n")
        sed -e "s/^ListenAddress $ADDR\$/ListenAddress $(fleet_addr "$n")/" -e "s|^HostKey .*|HostKey $dir/ssh/host_ed25519|" \
            -e "s|^PidFile .*|PidFile $dir/ssh/sshd.pid|" "$DIR/ssh/sshd_config" > "$dir/ssh/sshd_config"
        if alive "$dir/ssh/sshd.pid" && ! cmp -s "$dir/ssh/sshd_config" "$dir/ssh/sshd_config.running"; then
            kill "$(cat "$dir/ssh/sshd.pid")" 2>/dev/null || true
            for _ in $(seq 50); do alive "$dir/ssh/sshd.pid" || break; sleep 0.1; done
        fi
        cp "$dir/ssh/sshd_config" "$dir/ssh/sshd_config.running"
        alive "$dir/ssh/sshd.pid" || in_fleet "$n" /usr/sbin/sshd -f "$dir/ssh/sshd_config" -E "$dir/ssh/sshd.log"
    done
    for n in $(seq "$FLEET_MACHINES"); do
        for _ in $(seq 50); do alive "$(fleet_dir "$n")/ssh/sshd.pid" && continue 2; sleep 0.1; done
        die "sshd of fleet server $n did not start; see $(fleet_dir "$n")/ssh/sshd.log"
    done
}

start_fleet_dockerd() {
    local n
    for n in $(seq "$FLEET_MACHINES"); do
        local dir; dir=$(fleet_dir "$n")
        install -d -m 0711 "$dir/docker" "$dir/docker/data" "$dir/docker/exec"
        if alive "$dir/docker/docker.pid" && fleet_docker_ping "$n"; then continue; fi
        alive "$dir/docker/docker.pid" && kill "$(cat "$dir/docker/docker.pid")" && sleep 1
        rm -f "$dir/docker/docker.pid" "$(fleet_socket "$n")"
        local dockerd=(dockerd) path=$PATH
        if [[ $n == "$STORE_N" ]]; then
            # The server on the containerd image store (store.bash): Debian 13's engine, its containerd first on its PATH.
            local bin; bin=$(trixie_bin)
            containerd_store_config "$dir/docker/daemon.json"
            dockerd=("$bin/dockerd" --config-file "$dir/docker/daemon.json") path=$bin:$PATH
        fi
        PATH=$path setsid nsenter --net="$(fleet_ns_path "$n")" --mount="$FLEET_RUN/h$n.mnt" "${dockerd[@]}" --data-root "$dir/docker/data" \
            --exec-root "$dir/docker/exec" --pidfile "$dir/docker/docker.pid" --host "unix://$FLEET_SOCK" --group "$REMOTE_USER" \
            >>"$dir/docker/dockerd.log" 2>&1 < /dev/null &
    done
    for n in $(seq "$FLEET_MACHINES"); do
        for _ in $(seq 300); do fleet_docker_ping "$n" && continue 2; sleep 0.1; done
        tail -n 20 "$(fleet_dir "$n")/docker/dockerd.log" >&2
        die "the dockerd of fleet server $n did not answer within 30 s; see $(fleet_dir "$n")/docker/dockerd.log"
    done
}

# The images come from the first host's engine, as a team's servers got theirs: no registry here.
load_fleet_images() {
    local n image
    for n in $(seq "$FLEET_SIZE"); do
        # The proxy image is the front door of a swarm environment (strategy swarm) on every node.
        for image in "$APP_IMAGE:$APP_TAG" "$PROXY_IMAGE" $([[ $n == 1 ]] && echo "$PG_IMAGE"); do
            local want have
            want=$(docker_ image inspect -f '{{.Id}}' "$image")
            have=$(fleet_docker "$n" image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
            [[ $want == "$have" ]] && continue
            if [[ $image != "$PROXY_IMAGE" ]]; then
                # A new sample app: the fleet starts again from plain containers (out of its swarm).
                fleet_leave_swarm
                fleet_docker "$n" rm -f "$APP_CONTAINER" >/dev/null 2>&1 || true
            fi
            docker_ save "$image" | fleet_docker "$n" load -q >/dev/null
        done
    done
}

fleet_app_health() { curl -fsS --max-time 3 "http://$(fleet_addr "$1"):80/api/health"; }
fleet_pg_ready() { fleet_docker 1 exec "$PG_CONTAINER" pg_isready -q -h /tmp -U "$DB_USER" -d "$DB_NAME" 2>/dev/null; }
fleet_in_swarm() { [[ $(fleet_docker "$1" info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null) == active ]]; }
fleet_running() { [[ $(fleet_docker "$1" inspect -f '{{.State.Running}}' "$2" 2>/dev/null) == true ]]; }

ensure_fleet_containers() {
    local n password_file=$DIR/secrets/postgres_password_file
    fleet_docker 1 network inspect "$NETWORK" >/dev/null 2>&1 || fleet_docker 1 network create "$NETWORK" >/dev/null
    if ! fleet_running 1 "$PG_CONTAINER"; then
        fleet_docker 1 rm -f "$PG_CONTAINER" >/dev/null 2>&1 || true
        fleet_docker 1 run -d --name "$PG_CONTAINER" --network "$NETWORK" --restart unless-stopped -p 5432:5432 \
            --label com.docker.compose.project=tme-user --label com.docker.compose.service=postgres \
            -e POSTGRES_USER="$DB_USER" -e POSTGRES_DB="$DB_NAME" \
            -v tme-user_postgres_data:/var/lib/postgresql/data \
            -v "$password_file:/run/secrets/postgres_password:ro" "$PG_IMAGE" >/dev/null
    fi
    for _ in $(seq 150); do fleet_pg_ready && break; sleep 0.2; done
    fleet_pg_ready || { fleet_docker 1 logs --tail 20 "$PG_CONTAINER" >&2; die "the fleet's $PG_CONTAINER did not become ready"; }
    for n in $(seq "$FLEET_SIZE"); do
        fleet_docker "$n" network inspect "$NETWORK" >/dev/null 2>&1 || fleet_docker "$n" network create "$NETWORK" >/dev/null
        fleet_running "$n" "$APP_CONTAINER" && continue
        # Converted to a swarm (environment cluster): its front door serves port 80 instead.
        fleet_in_swarm "$n" && fleet_app_health "$n" >/dev/null 2>&1 && continue
        fleet_docker "$n" rm -f "$APP_CONTAINER" >/dev/null 2>&1 || true
        # As compose made it on each server (see ensure_containers); the database is on the first server.
        fleet_docker "$n" run -d --init --name "$APP_CONTAINER" --network "$NETWORK" --network-alias app --restart unless-stopped \
            -p 80:3000 --memory 512m --log-opt max-size=10m --log-opt max-file=3 --stop-timeout 3 \
            -v "$REMOTE_HOME/uploads:/app/uploads" -v tme-user_app_data:/app/data \
            -e NODE_ENV=production -e "DATABASE_URL=$(fleet_database_url)" \
            --label com.docker.compose.project=tme-user --label com.docker.compose.service=app \
            --label com.docker.compose.container-number=1 --label com.docker.compose.oneoff=False \
            --label com.docker.compose.version=2.24.6 --label com.docker.compose.project.working_dir="$REMOTE_HOME" \
            --label com.docker.compose.project.config_files="$REMOTE_HOME/docker-compose.yml" \
            --label app=tme-portal "$APP_IMAGE:$APP_TAG" >/dev/null
    done
    for n in $(seq "$FLEET_SIZE"); do
        for _ in $(seq 100); do fleet_app_health "$n" >/dev/null 2>&1 && continue 2; sleep 0.2; done
        die "the app on fleet server $n does not answer 200 on /api/health; see: DOCKER_HOST=unix://$(fleet_socket "$n") docker logs $APP_CONTAINER"
    done
}

lb_alive() { alive "$DIR/lb/nginx.pid"; }
# Until six requests in a row through the balancer succeed (two rounds over the three servers), at most 15 s.
fleet_wait_for_balancer() {
    lb_alive || return 0
    local ok=0
    for _ in $(seq 150); do
        if lb_health >/dev/null 2>&1; then ok=$((ok + 1)); [[ $ok -ge 6 ]] && return 0; else ok=0; sleep 0.1; fi
    done
    log "warning: the load balancer did not answer six requests in a row within 15 s"
}
lb_health() { curl -fsS --max-time 3 "http://127.0.0.1:$LB_PORT/api/health"; }

start_load_balancer() {
    install -d -m 0755 "$DIR/lb" "$DIR/lb/tmp"
    local n servers=
    for n in $(seq "$FLEET_SIZE"); do servers+="        server $(fleet_addr "$n"):80;"$'\n'; done
    cat > "$DIR/lb/nginx.conf" <<CONF
# The fleet's load balancer, as teams run it: nginx's upstream defaults (max_fails=1, fail_timeout=10s:
# a server that refused one connection is left out for 10 s) and its default retry of a refused or cut
# connection on the next server (proxy_next_upstream error timeout).
pid $DIR/lb/nginx.pid;
error_log $DIR/lb/error.log;
worker_processes 1;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path $DIR/lb/tmp/body;
    proxy_temp_path $DIR/lb/tmp/proxy;
    fastcgi_temp_path $DIR/lb/tmp/fastcgi;
    uwsgi_temp_path $DIR/lb/tmp/uwsgi;
    scgi_temp_path $DIR/lb/tmp/scgi;
    upstream fleet {
$servers    }
    server {
        listen 127.0.0.1:$LB_PORT;
        listen $FLEET_GATEWAY:$LB_PORT;
        location / {
            proxy_pass http://fleet;
            proxy_connect_timeout 1s;
        }
    }
}
CONF
    if lb_alive && cmp -s "$DIR/lb/nginx.conf" "$DIR/lb/nginx.conf.running"; then return 0; fi
    lb_alive && { kill "$(cat "$DIR/lb/nginx.pid")" 2>/dev/null || true; sleep 0.3; }
    nginx -t -q -c "$DIR/lb/nginx.conf" -e "$DIR/lb/error.log" || die "the load balancer's nginx.conf is invalid; see $DIR/lb/error.log"
    nginx -c "$DIR/lb/nginx.conf" -e "$DIR/lb/error.log"
    cp "$DIR/lb/nginx.conf" "$DIR/lb/nginx.conf.running"
    for _ in $(seq 50); do lb_alive && return 0; sleep 0.1; done
    die "the load balancer did not start; see $DIR/lb/error.log"
}

fleet_up() {
    ensure_fleet_network
    ensure_fleet_mounts
    ensure_fleet_keys
    ensure_fleet_env_files
    start_fleet_sshd
    start_fleet_dockerd
    load_fleet_images
    ensure_fleet_containers
    seed_fleet_database_if_new
    start_load_balancer
    store_up
}

fleet_status() {
    local n
    for n in $(seq "$FLEET_SIZE"); do
        local dir; dir=$(fleet_dir "$n")
        check "fleet $n sshd" "alive $dir/ssh/sshd.pid" "$REMOTE_USER@$(fleet_addr "$n"):22"
        check "fleet $n docker engine" "fleet_docker_ping $n" "$FLEET_SOCK (from here: $(fleet_socket "$n"))"
        check "fleet $n app container" "fleet_app_health $n" "$APP_CONTAINER, $(fleet_addr "$n"):80"
    done
    check "fleet postgres" "fleet_pg_ready" "$PG_CONTAINER on $(fleet_addr 1):5432"
    check "load balancer" "lb_health" "127.0.0.1:$LB_PORT -> the fleet's port 80"
}

fleet_env() {
    local n hosts=
    for n in $(seq "$FLEET_SIZE"); do hosts+="${hosts:+,}$(fleet_addr "$n")"; done
    cat <<ENV
SANDBOX_FLEET_HOSTS=$hosts
SANDBOX_FLEET_DOCKER_SOCKET=$FLEET_SOCK
SANDBOX_FLEET_LB=http://127.0.0.1:$LB_PORT
ENV
    for n in $(seq "$FLEET_SIZE"); do
        printf 'SANDBOX_FLEET%s_DOCKER_SOCKET=%s\nSANDBOX_FLEET%s_HOME=%s\n' "$n" "$(fleet_socket "$n")" "$n" "$(fleet_dir "$n")/home"
    done
}

# A new fleet database gets the production state of the seed (hand-migrated to 009, sample rows).
seed_fleet_database_if_new() {
    local tables
    tables=$(fleet_docker 1 exec "$PG_CONTAINER" psql -qXtA -h /tmp -U "$DB_USER" -d "$DB_NAME" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    [[ $tables == 0 ]] || return 0
    fleet_seed_database
}

fleet_seed_database() {
    local files=("$here"/sandbox.d/migrations/*.sql) production=() sql
    for sql in "${files[@]}"; do [[ $(basename "$sql") < 010 ]] && production+=("$sql"); done
    fleet_docker 1 exec "$PG_CONTAINER" psql -qX -h /tmp -U "$DB_USER" -d postgres -v ON_ERROR_STOP=1 \
        -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME" >/dev/null
    cat "${production[@]}" "$here/sandbox.d/seed-data.sql" |
        fleet_docker 1 exec -i "$PG_CONTAINER" psql -qX -h /tmp -U "$DB_USER" -d "$DB_NAME" -v ON_ERROR_STOP=1 >/dev/null
}

# Every fleet engine out of its swarm (a `cluster` environment's service, front door, secrets and
# overlay network go with it); workers first, the manager last.
fleet_leave_swarm() {
    local n
    for n in $(seq "$FLEET_SIZE" | sort -r); do
        [[ $(fleet_docker "$n" info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null) == inactive ]] && continue
        fleet_docker "$n" swarm leave --force >/dev/null 2>&1 || true
    done
    # A Docker 20.10 engine can keep the gossip port 7946 after it leaves a swarm (seen here after a
    # join whose log showed the network agent starting twice); every later join then fails to start
    # the agent ("error in agentInit ... address already in use": tasks on that node resolve nothing).
    # A real server in that state needs its Docker restarted; so does a fleet server here, to be a
    # fresh one.
    local restart=()
    for n in $(seq "$FLEET_SIZE"); do
        [[ -n $(in_fleet "$n" ss -Hltn 'sport = :7946' 2>/dev/null) ]] && restart+=("$n")
    done
    ((${#restart[@]})) || return 0
    for n in "${restart[@]}"; do
        log "fleet server $n: its dockerd still holds the swarm's gossip port after leaving; restarting it"
        kill "$(cat "$(fleet_dir "$n")/docker/docker.pid")" 2>/dev/null || true
    done
    for n in "${restart[@]}"; do
        for _ in $(seq 150); do alive "$(fleet_dir "$n")/docker/docker.pid" || break; sleep 0.1; done
    done
    start_fleet_dockerd
}

# A swarm the fleet formed, kept but emptied: every service and secret removed, the tmeops node labels
# dropped, and no task container left on any node (their ports free again for the plain containers).
fleet_clear_swarm() {
    local n node label services secrets
    fleet_in_swarm 1 || return 0
    services=$(fleet_docker 1 service ls -q)
    [[ -n $services ]] && fleet_docker 1 service rm $services >/dev/null
    for node in $(fleet_docker 1 node ls -q); do
        for label in $(fleet_docker 1 node inspect -f '{{range $k, $v := .Spec.Labels}}{{$k}} {{end}}' "$node"); do
            [[ $label == tmeops.* ]] && fleet_docker 1 node update --label-rm "$label" "$node" >/dev/null
        done
    done
    for n in $(seq "$FLEET_SIZE"); do
        for _ in $(seq 300); do
            [[ -z $(fleet_docker "$n" ps -aq --filter label=com.docker.swarm.service.id) ]] && continue 2
            sleep 0.1
        done
        die "fleet server $n: the swarm's task containers did not go within 30 s"
    done
    secrets=$(fleet_docker 1 secret ls -q)
    [[ -n $secrets ]] && fleet_docker 1 secret rm $secrets >/dev/null
    return 0
}

# The fleet back to its start: version 1 on every server, no swarm, no deploy state or backups, the
# database at 009.
fleet_seed() { # fleet_seed [--fast]: --fast restores the database from its template (see cmd_seed_save)
    local n image fast=${1:-}
    if [[ -n ${FLEET_KEEP_SWARM:-} ]]; then fleet_clear_swarm; else fleet_leave_swarm; fi
    for n in $(seq "$FLEET_SIZE"); do
        fleet_docker "$n" rm -f "$APP_CONTAINER-old" "$APP_CONTAINER-new" "$APP_CONTAINER-test" "$APP_CONTAINER-proxy" >/dev/null 2>&1 || true
        # Version 1's container as the last seed made it (and running) is kept by --fast.
        if [[ $fast == --fast ]] && seed_app_unchanged "$(cat "$(fleet_dir "$n")/seed-app" 2>/dev/null)" "fleet_docker_$n"; then :; else
            fleet_docker "$n" rm -f "$APP_CONTAINER" >/dev/null 2>&1 || true
        fi
        for image in $(fleet_docker "$n" images --format '{{.Repository}}:{{.Tag}}' | grep "^$APP_IMAGE:" | grep -v ":$APP_TAG\$" || true); do
            fleet_docker "$n" rmi "$image" >/dev/null 2>&1 || true
        done
        fleet_docker "$n" image prune -f >/dev/null 2>&1 || true
        rm -rf "$(fleet_dir "$n")/home/.tmeops" "$(fleet_dir "$n")/home/backups"
        install -d -o "$REMOTE_USER" -g "$REMOTE_USER" -m 0750 "$(fleet_dir "$n")/home/backups"
    done
    ensure_fleet_env_files
    ensure_fleet_containers
    # Seeded means served: the balancer answers through every server again (nginx leaves a server that
    # refused a connection while it was being replaced out for its fail_timeout, 10 s).
    fleet_wait_for_balancer
    for n in $(seq "$FLEET_SIZE"); do seed_app_record "fleet_docker_$n" > "$(fleet_dir "$n")/seed-app"; done
    if [[ $fast == --fast ]]; then
        fleet_docker 1 exec "$PG_CONTAINER" psql -qX -h /tmp -U "$DB_USER" -d postgres -v ON_ERROR_STOP=1 \
            -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME TEMPLATE $SEED_TEMPLATE" >/dev/null
        log "seeded the fleet from its template: $APP_IMAGE:$APP_TAG on every server, $DB_NAME at 009 (adopted) on the first"
        return
    fi
    fleet_seed_database
    log "seeded the fleet: $APP_IMAGE:$APP_TAG on every server, $DB_NAME at 009 on the first"
}
# One docker CLI per fleet server, for the helpers that take an engine's command (seed_app_record).
for n in $(seq "$FLEET_SIZE"); do eval "fleet_docker_$n() { fleet_docker $n \"\$@\"; }"; done

fleet_down() {
    local n
    lb_alive && kill "$(cat "$DIR/lb/nginx.pid")" 2>/dev/null || true
    for n in $(seq "$FLEET_MACHINES"); do
        local dir; dir=$(fleet_dir "$n")
        if alive "$dir/docker/docker.pid"; then
            fleet_docker "$n" swarm leave --force >/dev/null 2>&1 || true
            fleet_docker "$n" rm -f $(fleet_docker "$n" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
            kill "$(cat "$dir/docker/docker.pid")" 2>/dev/null || true
        fi
        alive "$dir/ssh/sshd.pid" && kill "$(cat "$dir/ssh/sshd.pid")" 2>/dev/null || true
    done
    for n in $(seq "$FLEET_MACHINES"); do
        for _ in $(seq 100); do alive "$(fleet_dir "$n")/docker/docker.pid" || break; sleep 0.1; done
        umount -l "$FLEET_RUN/h$n.mnt" 2>/dev/null || true
        rm -f "$FLEET_RUN/h$n.mnt"
        ip link del "tmeops-f${n}h" 2>/dev/null || true
        [[ -e $(fleet_ns_path "$n") ]] && ip netns del "tmeops-fleet$n" 2>/dev/null || true
    done
    umount -l "$FLEET_RUN" 2>/dev/null || true
    rmdir "$FLEET_RUN" 2>/dev/null || true
    ip link del "$FLEET_BRIDGE" 2>/dev/null || true
}
