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
	if n < 0 || n > maxRead {
		return nil, errShort
	}
	buf := make([]byte, n)
	if err := s.readAt(buf, off); err != nil {
		return nil, err
	}
	return buf, nil
}

// readAt fills p from off, with the errors of bytes.
func (s *source) readAt(p []byte, off int64) error {
	n := len(p)
	if off < 0 || off > s.size || int64(n) > s.size-off {
		return errShort
	}
	if s.read+int64(n) > readBudget {
		return errBudget
	}
	s.read += int64(n)
	got, err := s.r.ReadAt(p, off)
	if got == n {
		// io.ReaderAt may report io.EOF together with a full read at the end.
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// The file is shorter than the size we were given.
		return errShort
	}
	return &readError{err}
}

// headerReader presents the file to the image decoders, as an io.Reader from
// its start and as an io.ReaderAt (x/image/tiff jumps to its directory with
// ReadAt instead of reading up to it), with every read counted against the
// budget.
type headerReader struct {
	s   *source
	off int64 // of the next Read
}

// Read reads from where the last Read stopped, at most what is left of the
// budget, so that a decoder asking for a 4 KB buffer near the budget's end
// still gets the few bytes it needs.
func (r *headerReader) Read(p []byte) (int, error) {
	left := readBudget - r.s.read
	if len(p) > 0 && left <= 0 && r.off < r.s.size {
		return 0, errBudget
	}
	n, err := r.ReadAt(p[:min(int64(len(p)), max(left, 0))], r.off)
	r.off += int64(n)
	if n > 0 && err == io.EOF {
		err = nil // io.Reader's contract: the next Read reports the end
	}
	return n, err
}

// ReadAt reads len(p) bytes at off, or what the file has there and io.EOF.
func (r *headerReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errShort
	}
	if off >= r.s.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.s.size-off))
	if err := r.s.readAt(p[:n], off); err != nil {
		return 0, err
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
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
