#!/usr/bin/env bash
# What a user of the published package gets: an empty project installs only the packed
# ergon-rx and rxjs, type-checks scripts/packed-package-app.ts against the published .d.ts
# without skipLibCheck (nothing optional installed), and runs it with plain node (telemetry
# to the console and OTLP gRPC, the runner with telemetry.logs, one-line errors for what
# stays optional). Needs a built dist/. Dependencies come from the npm cache when it has them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

tarball=$(cd "$root" && npm pack --ignore-scripts --silent --pack-destination "$work" | tail -n 1)
app="$work/app"
mkdir "$app"
cd "$app"
printf '{ "name": "app", "version": "1.0.0", "private": true, "type": "module" }\n' > package.json
npm install --prefer-offline --no-audit --no-fund "$work/$tarball" rxjs@7.8.2

# Nothing optional came along.
for optional in @opentelemetry/exporter-prometheus @opentelemetry/exporter-logs-otlp-grpc \
  amqplib pg ioredis @nats-io/transport-node @aws-sdk/client-sqs @aws-sdk/client-s3 @platformatic/kafka; do
  if [ -e "node_modules/$optional" ]; then echo "$optional was installed"; exit 1; fi
done
copies=$(npm ls rxjs --all --parseable | sort -u | wc -l)
if [ "$copies" -ne 1 ]; then echo "rxjs installed $copies times"; npm ls rxjs --all; exit 1; fi

cp "$root/scripts/packed-package-app.ts" app.ts
cat > tsconfig.json <<EOF
{
  "compilerOptions": {
    "target": "es2022", "lib": ["es2022"], "module": "nodenext", "moduleResolution": "nodenext",
    "strict": true, "noUncheckedIndexedAccess": true, "skipLibCheck": false,
    "types": ["node"], "typeRoots": ["$root/node_modules/@types"], "outDir": "."
  },
  "files": ["app.ts"]
}
EOF
node "$root/node_modules/typescript/bin/tsc" -p tsconfig.json
node app.js

# The dashboard's page and the observability stack ship in the package; uPlot comes with it.
for asset in assets/dashboard/index.html assets/dashboard/dashboard.js \
  assets/observability/grafana/dashboards/ergon-rx.json; do
  if [ ! -f "node_modules/ergon-rx/$asset" ]; then echo "$asset is not in the package"; exit 1; fi
done
node -e "require.resolve('uplot/dist/uPlot.iife.min.js', { paths: ['node_modules/ergon-rx'] })"
