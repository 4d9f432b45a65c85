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
	# Through env: sudo resets the environment, so a variable set before
	# sudo would not reach apt-get.
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
}

# services_pg_bin prints the newest PostgreSQL bin dir, or nothing.
services_pg_bin() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# services_free_port prints a loopback TCP port nobody listens on, below
# the kernel's ephemeral range (where a port nobody listens on may still be
# the local end of a connection, and binding it fails).
services_free_port() {
	local p lo=32768
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	[ "$lo" -gt 11000 ] || lo=32768
	for _ in $(seq 100); do
		p=$((10000 + RANDOM % (lo - 10000)))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "no free port found" >&2
	return 1
}

# services_mkdir makes SERVICES_DIR. As root the server runs as the
# postgres user, which must reach the dir: a TMPDIR it cannot enter (such
# as one under /root) is passed over for /tmp.
services_mkdir() {
	SERVICES_DIR=$(mktemp -d "${TMPDIR:-/tmp}/miniappkit-services.XXXXXX")
	chmod 755 "$SERVICES_DIR"
	if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$SERVICES_DIR" 2>/dev/null; then
		rmdir "$SERVICES_DIR"
		SERVICES_DIR=$(mktemp -d /tmp/miniappkit-services.XXXXXX)
		chmod 755 "$SERVICES_DIR"
	fi
	export SERVICES_DIR
}

# services_redis_pid prints the process id of the Redis answering on port.
services_redis_pid() {
	redis-cli -p "$1" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p'
}

# services_start starts both servers under a new temp dir (SERVICES_DIR)
# and exports their URLs. A port taken between choosing and binding it
# (another run chose it too) is tried again with another, and a server
# answering on the chosen port is used only if it is the one started here.
services_start() {
	# A SERVICES_DIR from the environment (an earlier dev-services start)
	# is not ours: a start that fails before making its own must not
	# leave the trap stopping that one.
	SERVICES_DIR=""
	services_install
	services_mkdir

	local bin pgport as=() try
	bin=$(services_pg_bin)
	mkdir -p "$SERVICES_DIR/pg"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$SERVICES_DIR/pg"
		as=(runuser -u postgres --)
	fi
	"${as[@]}" "$bin/initdb" -D "$SERVICES_DIR/pg/data" -U postgres -A trust -E UTF8 --no-sync >"$SERVICES_DIR/initdb.log" 2>&1 ||
		{ cat "$SERVICES_DIR/initdb.log" >&2; return 1; }
	# fsync off: a throwaway server for tests (the crash tests kill the
	# client, never the server).
	for try in 1 2 3 4 5; do
		pgport=$(services_free_port)
		"${as[@]}" "$bin/pg_ctl" -D "$SERVICES_DIR/pg/data" -l "$SERVICES_DIR/pg/log" -w -t 60 \
			-o "-p $pgport -k $SERVICES_DIR/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null && break
		[ "$try" = 5 ] && { cat "$SERVICES_DIR/pg/log" >&2; return 1; }
	done
	echo "$pgport" >"$SERVICES_DIR/pg.port"
	export MINIAPPKIT_POSTGRES_URL="postgres://postgres@127.0.0.1:$pgport/postgres?sslmode=disable"

	local rport pid up
	for try in 1 2 3 4 5; do
		rport=$(services_free_port)
		rm -f "$SERVICES_DIR/redis.log"
		redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
			--dir "$SERVICES_DIR" --pidfile "$SERVICES_DIR/redis.pid" --logfile "$SERVICES_DIR/redis.log" >/dev/null || true
		# Up when the server on rport is the one whose pid file is here;
		# failed when its log says it could not listen.
		up=""
		for _ in $(seq 100); do
			pid=$(cat "$SERVICES_DIR/redis.pid" 2>/dev/null || true)
			if [ -n "$pid" ] && [ "$(services_redis_pid "$rport")" = "$pid" ]; then up=1; break; fi
			grep -qs 'aborting' "$SERVICES_DIR/redis.log" && break
			sleep 0.1
		done
		[ -n "$up" ] && break
		[ "$try" = 5 ] && { cat "$SERVICES_DIR/redis.log" >&2; return 1; }
	done
	echo "$rport" >"$SERVICES_DIR/redis.port"
	export MINIAPPKIT_REDIS_URL="redis://127.0.0.1:$rport/0"
}

# services_stop [dir] stops the servers started under dir (default
# SERVICES_DIR) and removes it. It stops only the servers it started:
# PostgreSQL by its data dir, Redis by the pid in its pid file.
services_stop() {
	local dir="${1:-${SERVICES_DIR:-}}" bin as=() pid
	[ -n "$dir" ] && [ -d "$dir" ] || return 0
	bin=$(services_pg_bin)
	[ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
	if [ -f "$dir/pg/data/postmaster.pid" ]; then
		"${as[@]}" "$bin/pg_ctl" -D "$dir/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	pid=$(cat "$dir/redis.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && [ -f "$dir/redis.port" ] && [ "$(services_redis_pid "$(cat "$dir/redis.port")")" = "$pid" ]; then
		redis-cli -p "$(cat "$dir/redis.port")" shutdown nosave >/dev/null 2>&1 || true
	elif [ -n "$pid" ] && grep -qs redis-server "/proc/$pid/cmdline"; then
		kill "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
