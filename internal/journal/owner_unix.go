//go:build unix

package journal

import (
	"errors"
	"os"
	"syscall"
)

// processAlive reports whether a process of this machine with pid runs (or
// cannot be told apart from running).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM) || pid == os.Getpid()
}
