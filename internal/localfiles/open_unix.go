//go:build unix

package localfiles

import (
	"os"
	"syscall"
)

// openNoFollow opens a file for reading without following a final symlink
// and without blocking if it was swapped for a pipe.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}
