# Shared harness for the integration tests: temp dir, free ports, test CA, a private nginx upstream, hashgated and check helpers.
#
# Each .test script sources this file, calls hg_setup, starts what it needs
# (hg_start_nginx, hg_start_hashgated) and ends with hg_finish. The exit
# status follows the automake test driver: 0 pass, 1 fail, 77 skip,
# 99 hard error. Set HG_KEEP_TMP=1 to keep the temp dir for debugging.
#
# Everything listens on 127.0.0.1 on ports picked at random, so several
# scripts can run at once (make -j). The EXIT trap stops only the nginx
# master named in this run's pid file and the hashgated started here.

set -u -o pipefail

# Proxy settings from the caller's environment would send the test traffic
# elsewhere, and no_proxy would make curl -x bypass hashgated.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY \
    no_proxy NO_PROXY ftp_proxy FTP_PROXY

HG_TEST_NAME=$(basename -- "$0" .test)
HG_CHECKS=0
HG_FAILURES=0
HG_DIR=
HG_PID=
HG_SQUID_PID=
HG_NGINX_PID_FILE=
declare -A HG_PORTS_TAKEN=()

# Seconds allowed for any single HTTP exchange in a check.
HG_CURL_MAX_TIME=60

hg_log() {
	printf '# %s\n' "$*"
}

hg_pass() {
	HG_CHECKS=$((HG_CHECKS + 1))
	printf 'ok - %s\n' "$1"
}

# hg_fail DESCRIPTION [DETAIL...]: records a failed check and prints the
# details as comments under it.
hg_fail() {
	HG_CHECKS=$((HG_CHECKS + 1))
	HG_FAILURES=$((HG_FAILURES + 1))
	printf 'not ok - %s\n' "$1"
	shift
	local line
	for line in "$@"; do
		printf '#   %s\n' "$line"
	done
}

# hg_skip_all REASON: ends the script as skipped (exit 77).
hg_skip_all() {
	printf 'SKIP: %s\n' "$1"
	exit 77
}

# hg_hard_error REASON: ends the script with a harness error (exit 99),
# for failures of the test setup rather than of hashgate.
hg_hard_error() {
	printf 'ERROR: %s\n' "$1"
	hg_dump_logs
	exit 99
}

# hg_check_eq DESCRIPTION EXPECTED ACTUAL
hg_check_eq() {
	if [[ $2 == "$3" ]]; then
		hg_pass "$1"
	else
		hg_fail "$1" "expected: $2" "actual:   $3"
	fi
}

# hg_check_status DESCRIPTION EXPECTED ACTUAL: EXPECTED is one status or
# several separated by "|", such as "414|400".
hg_check_status() {
	local code
	local -a allowed
	IFS='|' read -r -a allowed <<<"$2"
	for code in "${allowed[@]}"; do
		if [[ $3 == "$code" ]]; then
			hg_pass "$1 (status $3)"
			return 0
		fi
	done
	hg_fail "$1" "expected status: $2" "actual status:   $3"
	return 1
}

# hg_check_contains DESCRIPTION FILE TEXT: FILE contains TEXT literally.
hg_check_contains() {
	if grep -qF -- "$3" "$2" 2>/dev/null; then
		hg_pass "$1"
	else
		hg_fail "$1" "missing text: $3" "in $2:" \
		    "$(head -c 2000 "$2" 2>/dev/null | tr -c '[:print:]\n' '?')"
	fi
}

# hg_check_not_contains DESCRIPTION FILE TEXT
hg_check_not_contains() {
	if grep -qF -- "$3" "$2" 2>/dev/null; then
		hg_fail "$1" "unexpected text: $3" "in $2"
	else
		hg_pass "$1"
	fi
}

# hg_check_same_file DESCRIPTION EXPECTED_FILE ACTUAL_FILE: byte-for-byte.
hg_check_same_file() {
	local out
	if out=$(cmp -- "$2" "$3" 2>&1); then
		hg_pass "$1"
	else
		hg_fail "$1" "$out" \
		    "expected $(hg_file_size "$2") bytes, got $(hg_file_size "$3") bytes"
	fi
}

hg_file_size() {
	if [[ -f $1 ]]; then
		stat -c %s -- "$1"
	else
		echo "no file"
	fi
}

# hg_dump_logs: prints the daemon log and the nginx logs of this run, so
# that a failure in CI output explains itself.
hg_dump_logs() {
	[[ -n $HG_DIR && -d $HG_DIR ]] || return 0
	local file
	for file in "$HG_DIR/hashgated.log" "$HG_DIR/nginx/error.log"; do
		if [[ -s $file ]]; then
			printf '#---- %s (last 200 lines) ----\n' "${file#"$HG_DIR"/}"
			tail -n 200 -- "$file" | sed 's/^/# /'
		fi
	done
	file=$HG_DIR/nginx/access.log
	if [[ -s $file ]]; then
		printf '#---- nginx/access.log (last 60 lines) ----\n'
		tail -n 60 -- "$file" | sed 's/^/# /'
	fi
}

# hg_setup: checks the tools and binaries, creates the temp dir and
# installs the cleanup trap. Call it first.
hg_setup() {
	if [[ -z ${abs_top_builddir:-} || -z ${abs_top_srcdir:-} ]]; then
		hg_hard_error "abs_top_srcdir and abs_top_builddir must be set; run through 'make check'"
	fi

	local tool
	for tool in curl openssl tar gzip sha256sum base64 cmp timeout pkill stat; do
		command -v "$tool" >/dev/null 2>&1 || hg_skip_all "$tool is not installed"
	done

	HG_NGINX=${HG_NGINX:-/usr/sbin/nginx}
	[[ -x $HG_NGINX ]] || hg_skip_all "nginx is not installed at $HG_NGINX (Debian package nginx-light)"

	HASHGATED=$abs_top_builddir/daemon/hashgated
	HASHGATECTL=$abs_top_builddir/client/hashgatectl
	[[ -x $HASHGATED ]] || hg_hard_error "$HASHGATED is missing; build it with make"

	HG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hashgate-$HG_TEST_NAME.XXXXXX") ||
	    hg_hard_error "cannot create a temp dir under ${TMPDIR:-/tmp}"
	mkdir -p "$HG_DIR/resp" "$HG_DIR/src"
	trap hg_cleanup EXIT
	trap 'exit 99' HUP INT TERM
	hg_log "temp dir $HG_DIR"
}

hg_cleanup() {
	local status=$?
	hg_stop_hashgated quiet
	hg_stop_squid
	hg_stop_nginx
	if [[ -n $HG_DIR && -d $HG_DIR ]]; then
		if [[ ${HG_KEEP_TMP:-0} == 1 ]]; then
			hg_log "kept $HG_DIR"
		else
			rm -rf -- "$HG_DIR"
		fi
	fi
	exit "$status"
}

# hg_finish: stops hashgated (checking that it exits cleanly), dumps the
# logs if a check failed and exits with the driver's status.
hg_finish() {
	if [[ -n $HG_PID ]]; then
		hg_stop_hashgated
	fi
	if [[ -f $HG_DIR/hashgated.log ]] &&
	    grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$HG_DIR/hashgated.log"; then
		hg_fail "hashgated log has no sanitizer reports" \
		    "$(grep -m 5 -E 'Sanitizer|runtime error:' "$HG_DIR/hashgated.log")"
	fi
	printf '# %s: %d checks, %d failed, %d s\n' "$HG_TEST_NAME" \
	    "$HG_CHECKS" "$HG_FAILURES" "$SECONDS"
	if ((HG_FAILURES > 0)); then
		hg_dump_logs
		exit 1
	fi
	exit 0
}

# hg_port_in_use PORT: true if something accepts connections on
# 127.0.0.1:PORT.
hg_port_in_use() {
	timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" 2>/dev/null
}

# hg_pick_port VAR: stores in VAR a port in 20000-60000 that nothing listens
# on and that this run has not handed out before.
hg_pick_port() {
	local port tries
	for ((tries = 0; tries < 200; tries++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40001))
		[[ -z ${HG_PORTS_TAKEN[$port]:-} ]] || continue
		hg_port_in_use "$port" && continue
		HG_PORTS_TAKEN[$port]=1
		printf -v "$1" '%s' "$port"
		return 0
	done
	hg_hard_error "no free port found in 20000-60000 after 200 tries"
}

# hg_make_certs: creates a CA (ca.pem) and a certificate for localhost,
# 127.0.0.1 and ::1 signed by it (server.pem, server.key) in the temp dir.
hg_make_certs() {
	local pki=$HG_DIR/pki
	mkdir -p "$pki"
	cat >"$pki/server.ext" <<-'EOF'
	basicConstraints = critical, CA:FALSE
	keyUsage = critical, digitalSignature
	extendedKeyUsage = serverAuth
	subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
	EOF
	if ! {
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		    -nodes -keyout "$pki/ca.key" -out "$HG_DIR/ca.pem" -days 2 \
		    -subj '/CN=hashgate integration test CA' \
		    -addext 'basicConstraints = critical, CA:TRUE' \
		    -addext 'keyUsage = critical, keyCertSign, cRLSign' &&
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		    -nodes -keyout "$pki/server.key" -out "$pki/server.csr" \
		    -subj '/CN=localhost' &&
		openssl x509 -req -in "$pki/server.csr" -CA "$HG_DIR/ca.pem" \
		    -CAkey "$pki/ca.key" -CAcreateserial -CAserial "$pki/ca.srl" \
		    -out "$pki/server.pem" -days 2 -extfile "$pki/server.ext"
	} >"$pki/openssl.log" 2>&1; then
		cat "$pki/openssl.log"
		hg_hard_error "openssl failed to create the test certificates"
	fi
}

# hg_make_tarball FILE KIB: writes a gzipped tarball of three files of
# random data, KIB KiB in total, so that gzip cannot shrink it.
hg_make_tarball() {
	local out=$1 kib=$2 src
	src=$(mktemp -d "$HG_DIR/src/tar.XXXXXX")
	head -c $((kib * 1024 / 3)) /dev/urandom >"$src/part1.bin"
	head -c $((kib * 1024 / 3)) /dev/urandom >"$src/part2.bin"
	head -c $((kib * 1024 - 2 * (kib * 1024 / 3))) /dev/urandom >"$src/part3.bin"
	printf 'hashgate integration test artifact %s\n' "$(basename -- "$out")" >"$src/README"
	mkdir -p "$(dirname -- "$out")"
	tar czf "$out" -C "$src" . || hg_hard_error "tar failed to create $out"
	rm -rf -- "$src"
}

hg_sha256_hex() {
	sha256sum -- "$1" | cut -d ' ' -f 1
}

hg_sha256_base64() {
	openssl dgst -sha256 -binary -- "$1" | base64 -w 0
}

# hg_have_ipv6_loopback: true if the machine has ::1 on its loopback.
hg_have_ipv6_loopback() {
	grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null
}

# hg_start_nginx: starts a private nginx on two free ports of 127.0.0.1,
# plain HTTP on NGINX_HTTP_PORT and HTTPS on NGINX_TLS_PORT, serving
# $WWW. Files under $WWW/slow/ are sent at 1 MiB/s. With
# HG_NGINX_IPV6=1 it listens on the same ports of [::1] too. The text of
# HG_NGINX_LOCATIONS goes into the server block, after @HTTP_PORT@ and
# @TLS_PORT@ are replaced with the ports.
hg_start_nginx() {
	NGINX_DIR=$HG_DIR/nginx
	WWW=$NGINX_DIR/www
	HG_NGINX_PID_FILE=$NGINX_DIR/nginx.pid
	mkdir -p "$WWW/slow" "$NGINX_DIR/tmp"
	echo ok >"$WWW/probe.txt"
	[[ -f $HG_DIR/ca.pem ]] || hg_make_certs

	local attempt user_line= listen_v6= locations
	if [[ $(id -u) == 0 ]]; then
		# The temp dir is mode 0700, so workers must run as root too.
		user_line='user root root;'
	fi
	for ((attempt = 1; attempt <= 3; attempt++)); do
		hg_pick_port NGINX_HTTP_PORT
		hg_pick_port NGINX_TLS_PORT
		if [[ ${HG_NGINX_IPV6:-0} == 1 ]]; then
			listen_v6="listen [::1]:$NGINX_HTTP_PORT; listen [::1]:$NGINX_TLS_PORT ssl;"
		fi
		locations=${HG_NGINX_LOCATIONS:-}
		locations=${locations//@HTTP_PORT@/$NGINX_HTTP_PORT}
		locations=${locations//@TLS_PORT@/$NGINX_TLS_PORT}
		cat >"$NGINX_DIR/nginx.conf" <<-EOF
		$user_line
		daemon on;
		pid $HG_NGINX_PID_FILE;
		worker_processes 1;
		error_log $NGINX_DIR/error.log info;
		events {
		    worker_connections 256;
		}
		http {
		    types {
		        application/gzip gz;
		        text/html html;
		        text/plain txt;
		    }
		    default_type application/octet-stream;
		    client_body_temp_path $NGINX_DIR/tmp/body;
		    proxy_temp_path $NGINX_DIR/tmp/proxy;
		    fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
		    uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
		    scgi_temp_path $NGINX_DIR/tmp/scgi;
		    log_format hashgate '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent \$request_time';
		    access_log $NGINX_DIR/access.log hashgate;
		    server {
		        listen 127.0.0.1:$NGINX_HTTP_PORT;
		        listen 127.0.0.1:$NGINX_TLS_PORT ssl;
		        $listen_v6
		        server_name localhost;
		        ssl_certificate $HG_DIR/pki/server.pem;
		        ssl_certificate_key $HG_DIR/pki/server.key;
		        root $WWW;
		        location /slow/ {
		            limit_rate 1m;
		        }
		        $locations
		    }
		}
		EOF
		if ! "$HG_NGINX" -p "$NGINX_DIR/" -c "$NGINX_DIR/nginx.conf" \
		    -e "$NGINX_DIR/error.log" >>"$NGINX_DIR/start.log" 2>&1; then
			if grep -q 'Address already in use' "$NGINX_DIR/error.log" "$NGINX_DIR/start.log"; then
				hg_log "nginx: port taken, retrying with other ports"
				continue
			fi
			cat "$NGINX_DIR/start.log"
			hg_hard_error "nginx failed to start"
		fi
		if hg_wait_nginx; then
			hg_log "nginx on 127.0.0.1:$NGINX_HTTP_PORT (http), 127.0.0.1:$NGINX_TLS_PORT (https), pid $(cat "$HG_NGINX_PID_FILE")"
			return 0
		fi
		hg_hard_error "nginx started but does not serve $WWW/probe.txt over HTTP and HTTPS"
	done
	hg_hard_error "nginx failed to bind free ports in 3 attempts"
}

# hg_wait_nginx: waits up to 10 s until nginx serves the probe file over
# both listeners.
hg_wait_nginx() {
	local i
	for ((i = 0; i < 100; i++)); do
		if [[ -s $HG_NGINX_PID_FILE ]] &&
		    curl -sf --noproxy '*' --max-time 2 -o /dev/null \
		        "http://127.0.0.1:$NGINX_HTTP_PORT/probe.txt" &&
		    curl -sf --noproxy '*' --max-time 2 -o /dev/null \
		        --cacert "$HG_DIR/ca.pem" "https://localhost:$NGINX_TLS_PORT/probe.txt"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# hg_nginx_workers: prints the PIDs of the nginx workers (children of the
# master in this run's pid file).
hg_nginx_workers() {
	pgrep -P "$(cat "$HG_NGINX_PID_FILE")"
}

hg_stop_nginx() {
	[[ -n $HG_NGINX_PID_FILE && -s $HG_NGINX_PID_FILE ]] || return 0
	local pid i
	pid=$(cat "$HG_NGINX_PID_FILE")
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	pkill -KILL -P "$pid" 2>/dev/null
	kill -KILL "$pid" 2>/dev/null
}

# hg_start_squid: starts squid as a forward proxy on a free port of
# 127.0.0.1, SQUID_PORT, that caches nothing and logs every request to
# $SQUID_DIR/access.log. Returns 1 when squid is not installed. Its DNS
# server is set to 127.0.0.1 so that it sends nothing off the machine.
hg_start_squid() {
	local squid=${HG_SQUID:-/usr/sbin/squid} i
	[[ -x $squid ]] || return 1

	SQUID_DIR=$HG_DIR/squid
	mkdir -p "$SQUID_DIR"
	if [[ $(id -u) == 0 ]]; then
		# Squid run as root works as the user "proxy", which must reach
		# its folder inside the temp dir.
		chmod 0711 "$HG_DIR"
		chown proxy "$SQUID_DIR" 2>/dev/null ||
		    hg_hard_error "cannot give $SQUID_DIR to the proxy user for squid"
	fi

	hg_pick_port SQUID_PORT
	cat >"$SQUID_DIR/squid.conf" <<-EOF
	http_port 127.0.0.1:$SQUID_PORT
	http_access allow all
	cache deny all
	access_log stdio:$SQUID_DIR/access.log
	cache_log $SQUID_DIR/cache.log
	cache_store_log none
	pid_filename $SQUID_DIR/squid.pid
	coredump_dir $SQUID_DIR
	netdb_filename none
	dns_nameservers 127.0.0.1
	icp_port 0
	htcp_port 0
	pinger_enable off
	visible_hostname hashgate-test
	shutdown_lifetime 0 seconds
	EOF

	"$squid" -N -f "$SQUID_DIR/squid.conf" >"$SQUID_DIR/stderr.log" 2>&1 </dev/null &
	HG_SQUID_PID=$!
	for ((i = 0; i < 200; i++)); do
		kill -0 "$HG_SQUID_PID" 2>/dev/null || break
		if curl -sf --max-time 2 -x "http://127.0.0.1:$SQUID_PORT" \
		    --noproxy '' -o /dev/null "http://127.0.0.1:$NGINX_HTTP_PORT/probe.txt"; then
			hg_log "squid pid $HG_SQUID_PID on 127.0.0.1:$SQUID_PORT"
			return 0
		fi
		sleep 0.1
	done

	cat "$SQUID_DIR/stderr.log" "$SQUID_DIR/cache.log" 2>/dev/null | tail -n 30
	hg_hard_error "squid did not relay a request to nginx within 20 s"
}

hg_stop_squid() {
	[[ -n ${HG_SQUID_PID:-} ]] || return 0
	local pid=$HG_SQUID_PID i
	HG_SQUID_PID=
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# hg_upstream_count PATH: prints how many requests for PATH (with its query
# string, if any) nginx has logged, whatever the method.
hg_upstream_count() {
	if [[ ! -f $NGINX_DIR/access.log ]]; then
		echo 0
		return 0
	fi
	grep -cF -- " $1 HTTP/" "$NGINX_DIR/access.log" || true
}

# hg_write_conf FILE [SECTION.KEY=VALUE...]: writes a hashgated config with
# the test defaults. An argument overrides a default or adds a key; an empty
# VALUE removes the key. The defaults set upstream.allow_private = yes,
# because the test upstreams all listen on loopback.
hg_write_conf() {
	local file=$1 arg key section name
	shift
	local -A conf=(
		[proxy.listen]=127.0.0.1:$PROXY_PORT
		[admin.listen]=127.0.0.1:$ADMIN_PORT
		[admin.token_file]=$HG_DIR/admin.token
		[storage.database]=$HG_DIR/hashgate.db
		[storage.cache_dir]=$HG_DIR/cache
		[tls.ca_cert]=$HG_DIR/hashgate-ca.crt
		[tls.ca_key]=$HG_DIR/hashgate-ca.key
		[upstream.ca_file]=$HG_DIR/ca.pem
		[upstream.connect_timeout]=5
		[upstream.timeout]=60
		[upstream.max_object_size]=64M
		[upstream.allow_private]=yes
	)
	for arg in "$@"; do
		key=${arg%%=*}
		if [[ -z ${arg#*=} ]]; then
			unset "conf[$key]"
		else
			conf[$key]=${arg#*=}
		fi
	done
	: >"$file"
	for section in proxy admin storage tls policy audit log upstream; do
		printf '[%s]\n' "$section" >>"$file"
		for key in $(printf '%s\n' "${!conf[@]}" | sort); do
			[[ $key == "$section".* ]] || continue
			name=${key#"$section".}
			printf '%s = %s\n' "$name" "${conf[$key]}" >>"$file"
		done
	done
}

# hg_start_hashgated [SECTION.KEY=VALUE...]: writes the config (see
# hg_write_conf), starts hashgated on two free ports, PROXY_PORT and
# ADMIN_PORT, and waits up to 20 s for /healthz to return 200. Sets
# HG_PID and ADMIN_TOKEN. A daemon that does not come up fails the test.
hg_start_hashgated() {
	local attempt i code log_lines
	for ((attempt = 1; attempt <= 3; attempt++)); do
		hg_pick_port PROXY_PORT
		hg_pick_port ADMIN_PORT
		HG_CONF=$HG_DIR/hashgated.conf
		hg_write_conf "$HG_CONF" "$@"
		log_lines=$( { wc -l <"$HG_DIR/hashgated.log"; } 2>/dev/null || echo 0)
		printf -- '---- hashgated start, proxy %s, admin %s ----\n' \
		    "$PROXY_PORT" "$ADMIN_PORT" >>"$HG_DIR/hashgated.log"
		"$HASHGATED" -c "$HG_CONF" 2>>"$HG_DIR/hashgated.log" </dev/null &
		HG_PID=$!
		for ((i = 0; i < 200; i++)); do
			if ! kill -0 "$HG_PID" 2>/dev/null; then
				break
			fi
			code=$(curl -s --noproxy '*' --max-time 2 -o /dev/null \
			    -w '%{http_code}' "http://127.0.0.1:$ADMIN_PORT/healthz")
			if [[ $code == 200 ]]; then
				ADMIN_TOKEN=$(cat "$HG_DIR/admin.token" 2>/dev/null)
				hg_log "hashgated pid $HG_PID, proxy 127.0.0.1:$PROXY_PORT, admin 127.0.0.1:$ADMIN_PORT"
				return 0
			fi
			sleep 0.1
		done
		if kill -0 "$HG_PID" 2>/dev/null; then
			hg_stop_hashgated quiet
			hg_fail "hashgated answers /healthz with 200 within 20 s" \
			    "last status: $code"
			hg_finish
		fi
		wait "$HG_PID"
		code=$?
		HG_PID=
		if tail -n "+$((log_lines + 1))" "$HG_DIR/hashgated.log" | grep -qiE 'address (already )?in use'; then
			hg_log "hashgated: port taken, retrying with other ports"
			continue
		fi
		hg_fail "hashgated starts with the test config" "exit status $code" \
		    "config:" "$(cat "$HG_CONF")"
		hg_finish
	done
	hg_hard_error "hashgated failed to bind free ports in 3 attempts"
}

# hg_stop_hashgated [quiet]: sends SIGTERM, waits up to 10 s, then
# SIGKILL. Without "quiet" it checks that the daemon exited with status 0.
hg_stop_hashgated() {
	[[ -n $HG_PID ]] || return 0
	local pid=$HG_PID status i
	HG_PID=
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		[[ ${1:-} == quiet ]] || hg_fail "hashgated exits within 10 s of SIGTERM"
		return 0
	fi
	wait "$pid" 2>/dev/null
	status=$?
	[[ ${1:-} == quiet ]] ||
	    hg_check_eq "hashgated exits with status 0 on SIGTERM" 0 "$status"
}

# hg_ctl ARGS...: runs hashgatectl against this run's admin listener and
# token file, bounded to 20 s.
hg_ctl() {
	timeout 20 "$HASHGATECTL" --admin "http://127.0.0.1:$ADMIN_PORT" \
	    --token-file "$HG_DIR/admin.token" "$@"
}

# hg_pin URL FILE: pins URL to the SHA-256 of FILE with hashgatectl. A
# failure is a hard error, since the checks after it would be meaningless.
hg_pin() {
	local out
	if ! out=$(hg_ctl add "$1" "$(hg_sha256_hex "$2")" 2>&1); then
		printf '%s\n' "$out"
		hg_hard_error "hashgatectl add $1 failed"
	fi
}

# hg_http NAME CURL_ARGS...: runs curl, storing the body in
# $HG_DIR/resp/NAME.body and the headers in NAME.headers. Sets HTTP_STATUS
# (000 when no response arrived) and CURL_EXIT.
hg_http() {
	local name=$1
	shift
	HTTP_STATUS=$(curl -sS --max-time "$HG_CURL_MAX_TIME" \
	    -o "$HG_DIR/resp/$name.body" -D "$HG_DIR/resp/$name.headers" \
	    -w '%{http_code}' "$@" 2>"$HG_DIR/resp/$name.stderr")
	CURL_EXIT=$?
	[[ -n $HTTP_STATUS ]] || HTTP_STATUS=000
}

# hg_mirror NAME PATH [CURL_ARGS...]: GET http://127.0.0.1:PROXY_PORT/PATH
# directly, the mirror-style form.
hg_mirror() {
	local name=$1 path=$2
	shift 2
	hg_http "$name" --noproxy '*' "$@" "http://127.0.0.1:$PROXY_PORT$path"
}

# hg_forward NAME URL [CURL_ARGS...]: GET URL through hashgated as a forward
# proxy (absolute-form request target).
hg_forward() {
	local name=$1 url=$2
	shift 2
	hg_http "$name" -x "http://127.0.0.1:$PROXY_PORT" --noproxy '' "$@" "$url"
}

hg_body() {
	printf '%s' "$HG_DIR/resp/$1.body"
}

# hg_header NAME FIELD: prints the value of the last FIELD header of
# response NAME, without the CR.
hg_header() {
	grep -i -- "^$2:" "$HG_DIR/resp/$1.headers" 2>/dev/null | tail -n 1 |
	    sed -e 's/^[^:]*:[[:space:]]*//' -e 's/\r$//'
}

# hg_raw NAME PORT FORMAT [ARGS...]: sends the bytes that printf FORMAT
# ARGS writes to 127.0.0.1:PORT and stores the reply in
# $HG_DIR/resp/NAME.raw, bounded to 10 s. Sets HTTP_STATUS from the status
# line ("none" without one). Requests should carry "Connection: close" so
# that the reply ends at once.
hg_raw() {
	local name=$1 port=$2 format=$3
	shift 3
	local request=$HG_DIR/resp/$name.request out=$HG_DIR/resp/$name.raw
	# shellcheck disable=SC2059 # the format is the caller's request template
	printf -- "$format" "$@" >"$request"
	timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1; cat >&3; cat <&3' \
	    "$port" <"$request" >"$out" 2>/dev/null
	HTTP_STATUS=$(head -n 1 "$out" | tr -d '\r' | awk '/^HTTP\// { print $2 }')
	[[ -n $HTTP_STATUS ]] || HTTP_STATUS=none
}

# hg_check_artifact_response NAME FILE DESCRIPTION: checks that response
# NAME has status 200, FILE as its body and headers that match FILE.
hg_check_artifact_response() {
	local name=$1 file=$2 what=$3
	hg_check_status "$what: status" 200 "$HTTP_STATUS"
	hg_check_same_file "$what: body is the artifact" "$file" "$(hg_body "$name")"
	hg_check_artifact_headers "$name" "$file" "$what"
}

# hg_check_artifact_headers NAME FILE DESCRIPTION: checks Content-Length,
# ETag (quoted SHA-256 hex) and Repr-Digest (RFC 9530) against FILE.
hg_check_artifact_headers() {
	local name=$1 file=$2 what=$3
	hg_check_eq "$what: Content-Length" "$(stat -c %s -- "$file")" \
	    "$(hg_header "$name" Content-Length)"
	hg_check_eq "$what: ETag" "\"$(hg_sha256_hex "$file")\"" \
	    "$(hg_header "$name" ETag)"
	hg_check_eq "$what: Repr-Digest" "sha-256=:$(hg_sha256_base64 "$file"):" \
	    "$(hg_header "$name" Repr-Digest)"
}

# hg_cache_objects: prints the files under the cache's objects dir (nothing
# when the dir does not exist).
hg_cache_objects() {
	[[ -d $HG_DIR/cache/objects ]] || return 0
	find "$HG_DIR/cache/objects" -type f
}

# hg_cache_temp_files: prints the files under the cache's tmp dir.
hg_cache_temp_files() {
	[[ -d $HG_DIR/cache/tmp ]] || return 0
	find "$HG_DIR/cache/tmp" -type f
}

# hg_check_no_cached DESCRIPTION DIGEST: no cache object has DIGEST in its
# path.
hg_check_no_cached() {
	local found
	found=$(hg_cache_objects | grep -F -- "$2")
	if [[ -z $found ]]; then
		hg_pass "$1"
	else
		hg_fail "$1" "cached: $found"
	fi
}

# hg_check_cache_tmp_empty DESCRIPTION: waits up to 3 s for the cache's tmp
# dir to be empty, since the daemon may remove a failed download just
# after it responds.
hg_check_cache_tmp_empty() {
	local i left
	for ((i = 0; i < 30; i++)); do
		left=$(hg_cache_temp_files)
		[[ -z $left ]] && break
		sleep 0.1
	done
	if [[ -z $left ]]; then
		hg_pass "$1"
	else
		hg_fail "$1" "left: $left"
	fi
}
