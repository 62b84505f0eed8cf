#!/usr/bin/env bash
# Builds the benchmarks and runs a matrix: jmh/bench.sh quick|full [--machine NAME] [--device gpu0] [--out DIR]
# Writes jmh/results/<date>-<machine>.json (JMH) and .md (tables). See jmh/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  mvn -q ${MVN_FLAGS:-} -pl library,jmh -am package -DskipTests
fi
exec java -Dai.djl.offline="${DJL_OFFLINE:-true}" ${JAVA_OPTS:-} \
  -cp jmh/target/benchmarks.jar io.github.bark4j.jmh.BenchRunner "$@"
