#!/usr/bin/env bash
# Builds plugrpc's grpc-go interop binaries, tools/interop/go/bin/interop_{server,client},
# offline, from Debian's packages: Go in GOPATH mode (no modules, no network), grpc-go
# and golang/protobuf from /usr/share/gocode, protoc for the grpc.testing protos in
# tools/interop/protos. Idempotent: when nothing that goes into the binaries changed, it
# says so and stops. See tools/interop/go/README.md.
#
# usage: bash tools/interop/go/build.sh [--force] [--check]
#   --force  rebuild even if the binaries are up to date
#   --check  also run gofmt and go vet on our Go sources (fails if either complains)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
protos="$(cd "$here/../protos" 2>/dev/null && pwd || true)"
build="$here/build"
bin="$here/bin"
gocode="${PLUGRPC_GOCODE:-/usr/share/gocode}"
packages_file=".ci/packages/interop-go.txt"

force=0
check=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --check) check=1 ;;
    -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

say() { echo "go-interop: $*"; }

# -- toolchain ------------------------------------------------------------------------
missing=()
command -v go >/dev/null 2>&1 || missing+=("go (Debian package golang-go)")
command -v protoc >/dev/null 2>&1 || missing+=("protoc (Debian package protobuf-compiler)")
[ -f "$gocode/src/google.golang.org/grpc/server.go" ] \
  || missing+=("grpc-go source in $gocode/src/google.golang.org/grpc (Debian package golang-google-grpc-dev)")
[ -f "$gocode/src/github.com/golang/protobuf/protoc-gen-go/main.go" ] \
  || missing+=("golang/protobuf source with protoc-gen-go in $gocode/src/github.com/golang/protobuf (Debian package golang-github-golang-protobuf-1-3-dev)")
[ -n "$protos" ] && compgen -G "$protos/*.proto" >/dev/null \
  || missing+=("the grpc.testing protos in tools/interop/protos/*.proto")
if [ "${#missing[@]}" -gt 0 ]; then
  echo "go-interop: cannot build, missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  echo "go-interop: install the Debian packages listed in $packages_file (apt-get install -y \$(cat $packages_file))" >&2
  exit 1
fi

# GOPATH mode, offline. GO111MODULE=off makes imports resolve in GOPATH alone; GOFLAGS is
# cleared because GOPATH mode has no -mod flag (go 1.19 rejects -mod=off); GOPROXY=off
# forbids any download; CGO_ENABLED=0 needs no C compiler (net falls back to Go's
# resolver). The cache lives in the build dir so nothing is written outside this tree.
export GO111MODULE=off GOFLAGS= GOPROXY=off GONOSUMDB= GOSUMDB=off CGO_ENABLED=0
export GOPATH="$build/gopath:$here:$gocode"
export GOCACHE="$build/gocache"
mkdir -p "$build/gopath/src" "$build/tools" "$bin"

# One build at a time (pytest workers, the matrix runner and a developer may race).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$build/.lock"
  flock 9
fi

# -- up to date? ------------------------------------------------------------------------
# Everything that goes into the binaries: this script, our sources, the protos, the Go and
# protoc versions, and the grpc-go / golang/protobuf source trees Debian installed.
fingerprint() {
  {
    go version
    protoc --version
    sha256sum <"${BASH_SOURCE[0]}"
    (cd "$here" && find src -type f -name '*.go' | LC_ALL=C sort | xargs sha256sum)
    (cd "$protos" && LC_ALL=C ls ./*.proto | xargs sha256sum)
    dpkg-query -W golang-google-grpc-dev golang-github-golang-protobuf-1-3-dev 2>/dev/null || true
    sha256sum "$gocode/src/google.golang.org/grpc/version.go" \
      "$gocode/src/github.com/golang/protobuf/proto/lib.go" \
      "$gocode/src/github.com/golang/protobuf/protoc-gen-go/generator/generator.go"
  } | sha256sum | cut -d' ' -f1
}
stamp="$build/stamp"
want="$(fingerprint)"
if [ "$force" -eq 0 ] && [ -x "$bin/interop_server" ] && [ -x "$bin/interop_client" ] \
   && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  say "up to date: $bin/interop_server, $bin/interop_client ($(go version | cut -d' ' -f3), grpc-go $(sed -n 's/^const Version = "\(.*\)"/\1/p' "$gocode/src/google.golang.org/grpc/version.go"))"
else
  start_ns=$(date +%s%N)
  rm -f "$stamp"

  # The generator is built from the very golang/protobuf tree the binaries link, so the
  # generated code always matches the runtime (Debian's /usr/bin/protoc-gen-go may come
  # from another golang/protobuf, or be the APIv2 one, which does not know plugins=grpc).
  say "building protoc-gen-go from $gocode/src/github.com/golang/protobuf"
  go build -o "$build/tools/protoc-gen-go" github.com/golang/protobuf/protoc-gen-go

  gen="$build/gopath/src/plugrpc/interop/grpc_testing"
  say "generating Go code for $(cd "$protos" && echo *.proto) into ${gen#"$here"/}"
  rm -rf "$gen"
  mkdir -p "$gen"
  protoc --plugin=protoc-gen-go="$build/tools/protoc-gen-go" -I "$protos" \
    --go_out=plugins=grpc:"$build/gopath/src" "$protos"/*.proto
  [ -f "$gen/interop_test.pb.go" ] || { echo "go-interop: protoc did not write $gen (check go_package)" >&2; exit 1; }

  for prog in server client; do
    say "building bin/interop_$prog"
    go build -o "$bin/interop_$prog.tmp" "plugrpc/interop/$prog"
    mv -f "$bin/interop_$prog.tmp" "$bin/interop_$prog"
  done
  echo "$want" >"$stamp"
  elapsed_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
  say "built in $((elapsed_ms / 1000)).$(printf '%03d' $((elapsed_ms % 1000))) s with $(go version | cut -d' ' -f3)"
fi

if [ "$check" -eq 1 ]; then
  say "checking gofmt and go vet"
  unformatted="$(gofmt -l "$here/src")"
  if [ -n "$unformatted" ]; then
    echo "go-interop: not gofmt-formatted:" >&2
    echo "$unformatted" >&2
    exit 1
  fi
  go vet plugrpc/interop/interopkit plugrpc/interop/server plugrpc/interop/client
  say "gofmt and go vet clean"
fi
