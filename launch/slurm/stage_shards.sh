#!/usr/bin/env bash
# launch/slurm/stage_shards.sh SRC DEST: copies a shard set (shard-*.h5 + manifest.json) to
# node-local disk, run once per node by train_job.sh --stage. The copy goes to a temporary name
# and is renamed when complete, so a node never trains from half a copy; a complete DEST (a
# requeued job landing on the same node, or another node when DEST is in fact shared) is kept.
set -euo pipefail
src="$1" dest="$2"
[ -f "$src/manifest.json" ] || { echo "stage_shards: $src has no manifest.json: not a shard set" >&2; exit 1; }
staged() { [ -f "$dest/manifest.json" ] && cmp -s "$src/manifest.json" "$dest/manifest.json"; }
if staged; then
  echo "stage_shards: $(hostname): $dest already staged" >&2
  exit 0
fi
partial="$dest.partial-$(hostname)-$$"
mkdir -p "$(dirname "$dest")"
rm -rf "$partial"
cp -a "$src/." "$partial"
if ! mv -T "$partial" "$dest" 2>/dev/null; then  # DEST exists: stale, or another node won
  if staged; then rm -rf "$partial"; else rm -rf "$dest"; mv -T "$partial" "$dest"; fi
fi
echo "stage_shards: $(hostname): $(du -sh "$dest" | cut -f1) staged to $dest" >&2
