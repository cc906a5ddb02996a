package authz

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/rolegate/rolegate/internal/repeat"
)

// readOptional reads a file, returning nil for one that does not exist.
func readOptional(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// WatchFiles calls onChange when the content of any of paths changes, until
// ctx is done. It compares file contents every interval rather than
// subscribing to inotify events, so that it sees every way a file can be
// replaced: an editor writing a new file and renaming it over the old one,
// a Kubernetes ConfigMap swapping its symlinks, or a network file system
// that sends no events. A change is acted on once the content has stayed
// the same for one more interval, so a file caught half-written is not
// loaded. With an interval of 500ms a change is noticed within about a
// second.
func WatchFiles(ctx context.Context, paths []string, interval time.Duration, onChange func()) {
	seen := fingerprint(paths)
	pending := seen
	repeat.Every(ctx, interval, func() {
		now := fingerprint(paths)
		switch {
		case now == seen:
			pending = seen
		case now != pending:
			pending = now // changed since the last look: wait for it to settle
		default:
			seen = now
			onChange()
		}
	})
}

// fingerprint hashes the contents of paths; a missing file hashes as
// empty, so its reappearance is a change.
func fingerprint(paths []string) [sha256.Size]byte {
	h := sha256.New()
	for _, p := range paths {
		data, _ := readOptional(p)
		h.Write([]byte(p))
		h.Write([]byte{0})
		var n [8]byte
		for i, l := 0, len(data); i < 8; i, l = i+1, l>>8 {
			n[i] = byte(l)
		}
		h.Write(n[:])
		h.Write(data)
	}
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return sum
}
