package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// readBudget caps the bytes one Inspect may read. Well-formed files need a
// few kilobytes; the cap makes sure a crafted file (say, a million tiny boxes
// or fragments) cannot make a check read the whole of a large file.
const readBudget = 1 << 20

// maxRead caps a single read, so that no size field in a file can make us
// allocate more than this.
const maxRead = 64 << 10

var (
	// errShort means a structure runs past the end of the file.
	errShort = errors.New("file ends early")
	// errBudget means the read budget is spent.
	errBudget = errors.New("read budget spent")
)

// source wraps the caller's ReaderAt: every read is checked against the
// declared size and counted against readBudget.
type source struct {
	r    io.ReaderAt
	size int64
	read int64 // bytes read so far
}

// bytes reads n bytes at off. It returns errShort if they are not all in the
// file, errBudget if the budget is spent, or the reader's own error.
func (s *source) bytes(off int64, n int) ([]byte, error) {
	if n < 0 || n > maxRead || off < 0 || off > s.size || int64(n) > s.size-off {
		return nil, errShort
	}
	if s.read+int64(n) > readBudget {
		return nil, errBudget
	}
	s.read += int64(n)
	buf := make([]byte, n)
	got, err := s.r.ReadAt(buf, off)
	if got == n {
		// io.ReaderAt may report io.EOF together with a full read at the end.
		return buf, nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// The file is shorter than the size we were given.
		return nil, errShort
	}
	return nil, &readError{err}
}

// readError is a failure of the underlying reader (not of the file's content).
type readError struct{ err error }

func (e *readError) Error() string { return "could not read the file: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// explain turns a read failure while parsing what into a sentence.
func (s *source) explain(err error, what string) error {
	var re *readError
	switch {
	case errors.As(err, &re):
		return err
	case errors.Is(err, errShort):
		return fmt.Errorf("%s is cut off or corrupt: its header runs past the end of the file (%d bytes)", what, s.size)
	case errors.Is(err, errBudget):
		return fmt.Errorf("%s has an implausibly large header (more than %d KB would have to be read to find its size); it is probably corrupt", what, readBudget>>10)
	default:
		return fmt.Errorf("%s: %w", what, err)
	}
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
func be64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le24(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 }
