#!/usr/bin/env bash
# Packs one Claude Desktop bundle (.mcpb) per platform from goreleaser's binaries, and
# writes the server.json to publish: the repository's server.json with the release's
# version, and each bundle's SHA-256 in place of its placeholder.
#
# Usage: bash mcpb/build.sh [--partial] [DIST]
#   DIST       goreleaser's output directory (default: dist), with artifacts.json and metadata.json
#   --partial  pack the binaries DIST holds (a one-platform snapshot, as CI builds) and leave out of
#              DIST/mcpb/server.json the bundles not built; without it, every bundle that server.json
#              names must be built, and only those.
# Writes DIST/mcpb/vace-mcp-VERSION-OS-ARCH.mcpb and DIST/mcpb/server.json.
# Needs node and npm: the mcpb CLI comes from .ci/packaging-tools (npm ci there if missing).
set -euo pipefail

PARTIAL=0
if [[ "${1:-}" == "--partial" ]]; then
  PARTIAL=1
  shift
fi
if [[ $# -gt 1 ]]; then
  echo "usage: bash $0 [--partial] [DIST]" >&2
  exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="$(cd "${1:-$ROOT/dist}" && pwd)"
TOOLS="$ROOT/.ci/packaging-tools"
MCPB="$TOOLS/node_modules/.bin/mcpb"
if [[ ! -x "$MCPB" ]]; then
  (cd "$TOOLS" && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error </dev/null)
fi

OUT="$DIST/mcpb"
rm -rf "$OUT"
mkdir -p "$OUT"
VERSION="$(node -p 'require(process.argv[1]).version' "$DIST/metadata.json")"

# One line per binary goreleaser built: GOOS GOARCH PATH.
node -e '
  for (const a of require(process.argv[1]))
    if (a.type === "Binary") console.log(a.goos, a.goarch, a.path);
' "$DIST/artifacts.json" >"$OUT/binaries.txt"
if [[ ! -s "$OUT/binaries.txt" ]]; then
  echo "no binaries in $DIST/artifacts.json: run goreleaser first" >&2
  exit 1
fi

while read -r goos goarch binary; do
  case "$goos" in
    darwin) platform=darwin exe="" ;;
    linux) platform=linux exe="" ;;
    windows) platform=win32 exe=".exe" ;;
    *) echo "no MCPB platform for GOOS $goos" >&2; exit 1 ;;
  esac
  stage="$OUT/stage-$goos-$goarch"
  mkdir -p "$stage/server"
  cp "$binary" "$stage/server/vace-mcp$exe"
  chmod 0755 "$stage/server/vace-mcp$exe"
  cp "$ROOT/README.md" "$ROOT/LICENSE" "$stage/"
  # The bundle's manifest: the release's version, this platform only, its binary as entry point.
  node -e '
    const fs = require("fs");
    const [src, dst, version, platform, exe] = process.argv.slice(1);
    const m = JSON.parse(fs.readFileSync(src, "utf8"));
    m.version = version;
    m.compatibility = { ...m.compatibility, platforms: [platform] };
    m.server.entry_point = "server/vace-mcp" + exe;
    fs.writeFileSync(dst, JSON.stringify(m, null, 2) + "\n");
  ' "$ROOT/mcpb/manifest.json" "$stage/manifest.json" "$VERSION" "$platform" "$exe"
  bundle="$OUT/vace-mcp-$VERSION-$goos-$goarch.mcpb"
  if ! "$MCPB" pack "$stage" "$bundle" </dev/null >"$OUT/pack.log" 2>&1; then
    cat "$OUT/pack.log" >&2
    exit 1
  fi
  rm -rf "$stage" "$OUT/pack.log"
  echo "packed $(basename "$bundle")"
done <"$OUT/binaries.txt"

# server.json to publish: ${VERSION} filled in, each bundle's placeholder hash replaced.
node -e '
  const fs = require("fs"), path = require("path"), crypto = require("crypto");
  const [src, dst, out, version, partial] = process.argv.slice(1);
  const text = fs.readFileSync(src, "utf8").replaceAll("${VERSION}", version);
  const s = JSON.parse(text);
  const built = new Set(fs.readdirSync(out).filter((f) => f.endsWith(".mcpb")));
  const named = new Set();
  const problems = [];
  s.packages = s.packages.filter((p) => {
    if (p.registryType !== "mcpb") return true;
    const file = path.basename(new URL(p.identifier).pathname);
    named.add(file);
    if (!built.has(file)) {
      if (partial !== "1") problems.push(`server.json names ${file}, which was not built`);
      return false;
    }
    p.fileSha256 = crypto.createHash("sha256").update(fs.readFileSync(path.join(out, file))).digest("hex");
    return true;
  });
  for (const f of built) if (!named.has(f)) problems.push(`${f} was built but server.json does not name it`);
  if (problems.length) { console.error(problems.join("\n")); process.exit(1); }
  fs.writeFileSync(dst, JSON.stringify(s, null, 2) + "\n");
' "$ROOT/server.json" "$OUT/server.json" "$OUT" "$VERSION" "$PARTIAL"
rm -f "$OUT/binaries.txt"
echo "wrote $OUT/server.json (version $VERSION)"
