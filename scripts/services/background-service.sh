# The start/stop frame of scripts/services/elasticmq.sh and s3.sh, sourced by both (not run):
# `stop` ends the server the script started, `start` does nothing while the port answers, and
# a started server has a pid file, a log, and a bounded wait for its port.

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# service_stop_or_skip COMMAND PORT PIDFILE: after `stop`, ends the process in PIDFILE and exits;
# exits 0 when PORT answers already; returns otherwise (the caller starts the server).
service_stop_or_skip() {
  local command=$1 port=$2 pidfile=$3
  if [ "$command" = stop ]; then
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
    exit 0
  fi
  if port_open "$port"; then exit 0; fi
}

# service_start NAME PORT PIDFILE LOG TRIES COMMAND…: runs COMMAND in the background (output to
# LOG, its pid to PIDFILE) and waits up to TRIES × 0.5 s for PORT; exits 0 once it answers, 1
# (with the log's tail) when the server died or never answered.
service_start() {
  local name=$1 port=$2 pidfile=$3 log=$4 tries=$5
  shift 5
  nohup "$@" >"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 "$tries"); do
    port_open "$port" && exit 0
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -20 "$log" >&2; exit 1; }
    sleep 0.5
  done
  echo "$name did not come up on 127.0.0.1:$port (log: $log)" >&2
  exit 1
}
