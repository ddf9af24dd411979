package wal

import (
	"fmt"
	"log/slog"

	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// Repair cuts the WAL in dir at the corruption cerr reported: segments
// after the corrupt one are deleted and the corrupt one is truncated to
// the start of the unreadable record, so every record before it is kept.
// It is idempotent, and it logs what it removed: a repair must never pass
// silently, and it must never leave a WAL that fails the next start too.
func Repair(fsys vfs.FS, dir string, cerr *CorruptionError, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	segs, err := Segments(fsys, dir)
	if err != nil {
		return fmt.Errorf("wal repair: %w", err)
	}
	removed := 0
	for _, s := range segs {
		if s > cerr.Segment {
			if err := fsys.Remove(SegmentName(dir, s)); err != nil {
				return fmt.Errorf("wal repair: remove segment %d: %w", s, err)
			}
			removed++
		}
	}
	name := SegmentName(dir, cerr.Segment)
	fi, err := fsys.Stat(name)
	if err != nil {
		return fmt.Errorf("wal repair: %w", err)
	}
	if cerr.Offset < fi.Size() {
		if err := fsys.Truncate(name, cerr.Offset); err != nil {
			return fmt.Errorf("wal repair: truncate segment %d: %w", cerr.Segment, err)
		}
	}
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("wal repair: %w", err)
	}
	logger.Warn("WAL corruption repaired: cut at the last good record",
		"segment", name, "offset", cerr.Offset, "bytes_removed", fi.Size()-cerr.Offset,
		"later_segments_removed", removed, "cause", cerr.Err)
	return nil
}
