#!/usr/bin/env bash
# Starts Adobe S3Mock (an S3-compatible server with conditional writes: If-None-Match / If-Match)
# on 127.0.0.1:9090 (HTTP; it also serves HTTPS on 9191) unless something already listens
# there. Idempotent: the first run fetches the server's executable jar from Maven Central into
# ~/.cache/ergon-rx/s3mock-<version> (Maven and a Java 17 runtime are all it needs); later runs
# reuse it. Objects live under that folder's data/ and are deleted when the server stops.
#   scripts/services/s3.sh          start (or do nothing if it is up)
#   scripts/services/s3.sh stop     stop the server this script started
set -euo pipefail

version=${S3MOCK_VERSION:-4.12.4}
port=${S3MOCK_PORT:-9090}
home=${ERGON_SERVICES_CACHE:-$HOME/.cache/ergon-rx}/s3mock-$version
jar=$home/s3mock-$version-exec.jar
pidfile=$home/server.pid

# shellcheck source=background-service.sh
source "$(dirname "${BASH_SOURCE[0]}")/background-service.sh"
service_stop_or_skip "${1:-start}" "$port" "$pidfile"

if [ ! -f "$jar" ]; then
  mkdir -p "$home"
  mvn -q -B -Dstyle.color=never dependency:copy \
    -Dartifact="com.adobe.testing:s3mock:$version:jar:exec" -DoutputDirectory="$home"
fi
mkdir -p "$home/data"

service_start S3Mock "$port" "$pidfile" "$home/server.log" 180 \
  java -Xmx512m -XX:TieredStopAtLevel=1 -jar "$jar" \
  --server.address=127.0.0.1 \
  --com.adobe.testing.s3mock.httpPort="$port" \
  --com.adobe.testing.s3mock.store.root="$home/data" \
  --com.adobe.testing.s3mock.store.retainFilesOnExit=false \
  --logging.level.root=WARN
