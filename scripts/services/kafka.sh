#!/usr/bin/env bash
# Starts a single-node Apache Kafka (KRaft: broker and controller in one process) on
# 127.0.0.1:9092, from the Maven Central artifacts; idempotent (exits 0 at once when the port
# answers). Used by .ci/run, the specs' notes and docs/connectors/kafka.md.
#
#   scripts/services/kafka.sh                 # start on 9092 (controller on 9093)
#   KAFKA_PORT=19092 KAFKA_CONTROLLER_PORT=19093 KAFKA_DATA=/tmp/k scripts/services/kafka.sh
#   scripts/services/kafka.sh --install-only  # fetch the jars only; prints the class path file
#   KAFKA_FOREGROUND=1 …/kafka.sh             # run in the foreground (a test's private broker)
#
# Automatic topic creation is off: the connector creates its topics (and dead-letter topics)
# with the partition count it is told, so a typo in a topic name is an error, not a new topic.
set -euo pipefail

KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
PORT=${KAFKA_PORT:-9092}
CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
CACHE=${ERGON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ergon-rx}/kafka-$KAFKA_VERSION
DATA=${KAFKA_DATA:-$CACHE/data-$PORT}
# A fixed cluster id (base64 of 16 bytes): storage formatted once keeps working across restarts.
CLUSTER_ID=ZXJnb24tcngta2Fma2EtMQ
JAVA=${JAVA:-java}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

install() {
  mkdir -p "$CACHE"
  local pom
  pom=$(cat <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.ergon-rx</groupId>
  <artifactId>kafka-server</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
  )
  # Installed already with this very pom: nothing to do.
  if [ -s "$CACHE/classpath" ] && [ "$pom" = "$(cat "$CACHE/pom.xml" 2>/dev/null)" ]; then return 0; fi
  rm -rf "$CACHE/libs" "$CACHE/classpath"
  mkdir -p "$CACHE/libs"
  printf '%s\n' "$pom" >"$CACHE/pom.xml"
  mvn -B -q -f "$CACHE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$CACHE/libs" -DincludeScope=runtime
  cat >"$CACHE/log4j2.properties" <<'LOG'
status = warn
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.console.ref = console
logger.kafka.name = kafka.server.KafkaServer
logger.kafka.level = info
LOG
  (cd "$CACHE/libs" && ls ./*.jar | sed "s|^\./|$CACHE/libs/|" | paste -sd: -) >"$CACHE/classpath.tmp"
  mv "$CACHE/classpath.tmp" "$CACHE/classpath"
}

if [ "${1:-}" = "--install-only" ]; then
  install
  echo "$CACHE/classpath"
  exit 0
fi

[ "${KAFKA_FOREGROUND:-0}" = 1 ] || ! port_open "$PORT" || exit 0
install

mkdir -p "$DATA"
CONFIG="$DATA/server.properties"
cat >"$CONFIG" <<CFG
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA/logs
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=3000
group.consumer.min.session.timeout.ms=1000
group.min.session.timeout.ms=1000
log.retention.hours=24
CFG

CP=$(cat "$CACHE/classpath")
JOPTS=(-Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$CACHE/log4j2.properties" -cp "$CP")
if [ ! -f "$DATA/logs/meta.properties" ]; then
  "$JAVA" "${JOPTS[@]}" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$CONFIG" >"$DATA/format.log" 2>&1 \
    || { cat "$DATA/format.log" >&2; exit 1; }
fi
if [ "${KAFKA_FOREGROUND:-0}" = 1 ]; then exec "$JAVA" "${JOPTS[@]}" kafka.Kafka "$CONFIG"; fi
nohup "$JAVA" "${JOPTS[@]}" kafka.Kafka "$CONFIG" >"$DATA/server.log" 2>&1 </dev/null &
echo $! >"$DATA/pid"
for _ in $(seq 1 120); do
  port_open "$PORT" && exit 0
  kill -0 "$(cat "$DATA/pid")" 2>/dev/null || { tail -30 "$DATA/server.log" >&2; exit 1; }
  sleep 0.5
done
echo "Kafka did not open 127.0.0.1:$PORT within 60 s; see $DATA/server.log" >&2
exit 1
