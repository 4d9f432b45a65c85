# Shared by .ci/run and scripts/dev-services (sourced, not run): start a
# throwaway PostgreSQL and Redis on free loopback ports with their data in a
# temp dir, export MINIAPPKIT_POSTGRES_URL / MINIAPPKIT_REDIS_URL, and stop
# them again. Debian's postgresql and redis-server are installed with apt
# when missing. initdb refuses to run as root, so as root PostgreSQL runs as
# the postgres user (created by Debian's package).

# services_install installs what is missing.
services_install() {
	local need=()
	[ -n "$(services_pg_bin)" ] || need+=(postgresql)
	command -v redis-server >/dev/null || need+=(redis-server)
	[ ${#need[@]} -eq 0 ] && return 0
	local sudo=""
	if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then sudo=sudo; fi
	# No cluster of Debian's own: we start ours on a free port.
	$sudo mkdir -p /etc/postgresql-common/createcluster.d
	echo 'create_main_cluster = false' | $sudo tee /etc/postgresql-common/createcluster.d/miniappkit.conf >/dev/null
	$sudo apt-get update
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${need[@]}"
}

# services_pg_bin prints the newest PostgreSQL bin dir, or nothing.
services_pg_bin() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# services_free_port prints a loopback TCP port nobody listens on.
services_free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "no free port found" >&2
	return 1
}

# services_start starts both servers under a new temp dir (SERVICES_DIR)
# and exports their URLs.
services_start() {
	services_install
	SERVICES_DIR=$(mktemp -d "${TMPDIR:-/tmp}/miniappkit-services.XXXXXX")
	chmod 755 "$SERVICES_DIR"
	export SERVICES_DIR

	local bin pgport as=()
	bin=$(services_pg_bin)
	pgport=$(services_free_port)
	mkdir -p "$SERVICES_DIR/pg"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$SERVICES_DIR/pg"
		as=(runuser -u postgres --)
	fi
	"${as[@]}" "$bin/initdb" -D "$SERVICES_DIR/pg/data" -U postgres -A trust -E UTF8 --no-sync >"$SERVICES_DIR/initdb.log" 2>&1 ||
		{ cat "$SERVICES_DIR/initdb.log" >&2; return 1; }
	# fsync off: a throwaway server for tests (the crash tests kill the
	# client, never the server).
	"${as[@]}" "$bin/pg_ctl" -D "$SERVICES_DIR/pg/data" -l "$SERVICES_DIR/pg/log" -w -t 60 \
		-o "-p $pgport -k $SERVICES_DIR/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null ||
		{ cat "$SERVICES_DIR/pg/log" >&2; return 1; }
	echo "$pgport" >"$SERVICES_DIR/pg.port"
	export MINIAPPKIT_POSTGRES_URL="postgres://postgres@127.0.0.1:$pgport/postgres?sslmode=disable"

	local rport
	rport=$(services_free_port)
	redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
		--dir "$SERVICES_DIR" --pidfile "$SERVICES_DIR/redis.pid" --logfile "$SERVICES_DIR/redis.log" >/dev/null
	for _ in $(seq 100); do
		redis-cli -p "$rport" ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	redis-cli -p "$rport" ping >/dev/null || { cat "$SERVICES_DIR/redis.log" >&2; return 1; }
	echo "$rport" >"$SERVICES_DIR/redis.port"
	export MINIAPPKIT_REDIS_URL="redis://127.0.0.1:$rport/0"
}

# services_stop [dir] stops the servers started under dir (default
# SERVICES_DIR) and removes it.
services_stop() {
	local dir="${1:-${SERVICES_DIR:-}}" bin as=()
	[ -n "$dir" ] && [ -d "$dir" ] || return 0
	bin=$(services_pg_bin)
	[ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
	if [ -f "$dir/pg/data/postmaster.pid" ]; then
		"${as[@]}" "$bin/pg_ctl" -D "$dir/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	if [ -f "$dir/redis.port" ]; then
		redis-cli -p "$(cat "$dir/redis.port")" shutdown nosave >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}
