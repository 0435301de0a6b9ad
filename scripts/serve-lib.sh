# Sourced by the scripts that test against a gpm serve of their own
# (ci-test.sh, release-test.sh). The script sets $gpm and defines fail.
#
# serve_workdir NAME makes $work, a temporary directory removed on exit
# (with the end of the server's log shown when the script failed), and
# stops the server started by serve_start then too.
# serve_start [FLAG...] starts gpm serve on a free loopback port over
# $work/registry with the flags given and sets $url once it answers.

serve_workdir() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/gpm-$1.XXXXXX")
	server_pid=
	trap serve_cleanup EXIT
}

serve_cleanup() {
	status=$?
	set +e
	if [ -n "$server_pid" ]; then
		kill -INT "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	if [ "$status" -ne 0 ] && [ -s "$work/serve.log" ]; then tail -n 20 "$work/serve.log" >&2; fi
	rm -rf "$work"
}

serve_start() {
	"$gpm" serve --addr 127.0.0.1:0 --dir "$work/registry" --addr-file "$work/addr" "$@" 2>"$work/serve.log" &
	server_pid=$!
	for _ in $(seq 200); do
		[ -s "$work/addr" ] && break
		kill -0 "$server_pid" 2>/dev/null || fail "gpm serve exited"
		sleep 0.05
	done
	[ -s "$work/addr" ] || fail "gpm serve did not start"
	url=$(cat "$work/addr")
}
