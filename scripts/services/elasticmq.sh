#!/usr/bin/env bash
# Starts ElasticMQ (an SQS-compatible server speaking the AWS JSON protocol) on 127.0.0.1:9324
# unless something already listens there. Idempotent: the first run resolves the server and
# its dependencies from Maven Central into ~/.cache/ergon-rx/elasticmq-<version> (Maven is the
# only tool needed besides a Java 17 runtime); later runs reuse that cache.
#   scripts/services/elasticmq.sh          start (or do nothing if it is up)
#   scripts/services/elasticmq.sh stop     stop the server this script started
set -euo pipefail

version=${ELASTICMQ_VERSION:-1.7.1}
port=${ELASTICMQ_PORT:-9324}
home=${ERGON_SERVICES_CACHE:-$HOME/.cache/ergon-rx}/elasticmq-$version
pidfile=$home/server.pid

# shellcheck source=background-service.sh
source "$(dirname "${BASH_SOURCE[0]}")/background-service.sh"
service_stop_or_skip "${1:-start}" "$port" "$pidfile"

if [ ! -f "$home/ready" ]; then
  mkdir -p "$home"
  cat >"$home/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.ergon-rx</groupId>
  <artifactId>elasticmq-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.elasticmq</groupId>
      <artifactId>elasticmq-server_2.13</artifactId>
      <version>$version</version>
    </dependency>
  </dependencies>
</project>
POM
  mvn -q -B -f "$home/pom.xml" dependency:copy-dependencies -DoutputDirectory="$home/lib" -DincludeScope=runtime
  touch "$home/ready"
fi

# Queues are created by the clients (the specs create one per test); nothing persists.
cat >"$home/server.conf" <<CONF
include classpath("application.conf")
node-address { protocol = http, host = 127.0.0.1, port = $port, context-path = "" }
rest-sqs { enabled = true, bind-port = $port, bind-hostname = "127.0.0.1", sqs-limits = strict }
rest-stats { enabled = false }
CONF

service_start ElasticMQ "$port" "$pidfile" "$home/server.log" 120 \
  java -Xmx512m -Dconfig.file="$home/server.conf" -cp "$home/lib/*" org.elasticmq.server.Main
