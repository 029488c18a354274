// Package localfiles decides which local files vace-mcp may read and opens
// them without letting a path escape the directories the user allowed:
// no "..", no symlinks that lead out, no devices, pipes or directories.
package localfiles

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
)

// ErrNoAllowedDirs is matched by errors for local paths when no directory is allowed.
var ErrNoAllowedDirs = errors.New("local files are not enabled")

// ErrOutside is matched by errors for files outside every allowed directory.
var ErrOutside = errors.New("outside the allowed directories")

// Policy is a set of directories whose files may be read.
type Policy struct {
	dirs []string // absolute, cleaned, symlinks resolved
	// named are the same directories as they were given (absolute and
	// cleaned, links kept), so that a path can be judged inside or out
	// before anything about it is looked up.
	named []string
}

// NewPolicy allows the given directories, which must exist.
func NewPolicy(dirs []string) (*Policy, error) {
	p := &Policy{}
	for _, d := range dirs {
		real, err := realDir(d)
		if err != nil {
			return nil, fmt.Errorf("--allow-dir %s: %w", d, err)
		}
		abs, _ := filepath.Abs(d) // realDir has made it absolute already
		p.dirs, p.named = append(p.dirs, real), append(p.named, abs)
	}
	return p, nil
}

// Dirs lists the allowed directories (resolved).
func (p *Policy) Dirs() []string { return append([]string(nil), p.dirs...) }

// WithRoots returns a policy that also allows the client's roots (file://
// URIs); roots that are not existing local directories are ignored.
func (p *Policy) WithRoots(uris []string) *Policy {
	out := &Policy{dirs: p.Dirs(), named: append([]string(nil), p.named...)}
	for _, u := range uris {
		path, err := fromFileURL(u)
		if err != nil {
			continue
		}
		if real, err := realDir(path); err == nil {
			abs, _ := filepath.Abs(path)
			out.dirs, out.named = append(out.dirs, real), append(out.named, abs)
		}
	}
	return out
}

func realDir(d string) (string, error) {
	abs, err := filepath.Abs(d)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("no such directory")
	}
	st, err := os.Stat(real)
	if err != nil || !st.IsDir() {
		return "", fmt.Errorf("not a directory")
	}
	return real, nil
}

// IsLocal reports whether s names a local file (a path or a file:// URL)
// rather than a URL the service fetches itself.
func IsLocal(s string) bool {
	if strings.HasPrefix(s, "file:") {
		return true
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return true
	}
	// A Windows drive letter parses as a one-letter scheme.
	return runtime.GOOS == "windows" && len(u.Scheme) == 1
}

// File is an opened local file that the policy allowed.
type File struct {
	*os.File
	// Path is the file's real path (symlinks resolved).
	Path string
	Info fs.FileInfo
}

// Open opens a local file named by an absolute path or a file:// URL, if it
// is a regular file inside an allowed directory. Errors say what is wrong
// and how to fix it, but of a path outside the allowed directories they say
// only that: whether it exists, or where a link leads, is none of the
// caller's business.
func (p *Policy) Open(s string) (*File, error) {
	path := s
	if strings.HasPrefix(s, "file:") {
		var err error
		if path, err = fromFileURL(s); err != nil {
			return nil, err
		}
	}
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("%q is a relative path: give an absolute path (or an http(s) URL)", s)
	}
	for _, part := range strings.Split(filepath.ToSlash(path), "/") {
		if part == ".." {
			return nil, fmt.Errorf("%q contains '..': give the file's direct absolute path", s)
		}
	}
	if len(p.dirs) == 0 {
		return nil, fmt.Errorf("%w: %q is a local path, but no directory is allowed; start the server with --allow-dir DIR (or use a client that shares its roots), or give an http(s) URL",
			ErrNoAllowedDirs, s)
	}
	real, err := p.resolve(filepath.Clean(path), maxLinks)
	switch {
	case errors.Is(err, ErrOutside):
		return nil, fmt.Errorf("%q is %w (%s) or a link out of them; allow its directory with --allow-dir", s, ErrOutside, strings.Join(p.dirs, ", "))
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%q does not exist", s)
	case err != nil:
		return nil, fmt.Errorf("%q cannot be read: %v", s, reason(err))
	}
	st, err := os.Lstat(real)
	if err != nil {
		return nil, fmt.Errorf("%q cannot be read: %v", s, errors.Unwrap(err))
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%q is %s, not a regular file", s, describeMode(st.Mode()))
	}
	f, err := openNoFollow(real)
	if err != nil {
		return nil, fmt.Errorf("%q cannot be opened: %v", s, errors.Unwrap(err))
	}
	// The file may have been swapped between the checks and the open.
	fst, err := f.Stat()
	if err != nil || !fst.Mode().IsRegular() || !os.SameFile(st, fst) {
		_ = f.Close()
		return nil, fmt.Errorf("%q changed while it was being opened; try again", s)
	}
	return &File{File: f, Path: real, Info: fst}, nil
}

// maxLinks bounds the links followed for one path, as the kernel's ELOOP does.
const maxLinks = 40

// errTooManyLinks is a path whose links go round in a loop inside the allowed directories.
var errTooManyLinks = errors.New("too many levels of symbolic links")

// resolve follows the links of path to the real file, like
// filepath.EvalSymlinks, but learns nothing about the outside on the
// caller's behalf: a path that is, or whose links lead, outside the allowed
// directories is ErrOutside whether or not its target exists, and
// fs.ErrNotExist means a name missing inside them.
func (p *Policy) resolve(path string, links int) (string, error) {
	if !p.contains(path) {
		return "", ErrOutside // judged by name alone: nothing outside is looked up
	}
	real, err := filepath.EvalSymlinks(path)
	if err == nil {
		if !p.contains(real) {
			return "", ErrOutside
		}
		return real, nil
	}
	// The path cannot be followed to its end. Find the deepest ancestor
	// that resolves; if that lies outside, the failure is a fact about the
	// outside and must not be told.
	dir, rest := filepath.Dir(path), filepath.Base(path)
	realDir, dirErr := filepath.EvalSymlinks(dir)
	for dirErr != nil {
		if filepath.Dir(dir) == dir {
			return "", err
		}
		dir, rest = filepath.Dir(dir), filepath.Join(filepath.Base(dir), rest)
		realDir, dirErr = filepath.EvalSymlinks(dir)
	}
	if !p.contains(realDir) {
		return "", ErrOutside
	}
	first, tail, _ := strings.Cut(rest, string(filepath.Separator))
	next := filepath.Join(realDir, first)
	st, err := os.Lstat(next)
	switch {
	case err != nil:
		return "", err // missing, unreadable or not a directory, inside
	case st.Mode()&fs.ModeSymlink == 0:
		return "", &fs.PathError{Op: "stat", Path: path, Err: syscall.ENOTDIR} // a file where the path needs a directory
	case links == 0:
		return "", errTooManyLinks
	}
	// A link whose target cannot be followed: judge the target as a path
	// of its own, so that a link out fails as any outside path does.
	target, err := os.Readlink(next)
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(realDir, target)
	}
	return p.resolve(filepath.Join(target, tail), links-1)
}

// contains reports whether path is an allowed directory or lies inside one,
// comparing names only.
func (p *Policy) contains(path string) bool {
	for _, d := range slices.Concat(p.dirs, p.named) {
		rel, err := filepath.Rel(d, path)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return true
		}
	}
	return false
}

// reason is why a path inside the allowed directories cannot be followed,
// without the paths the error may name.
func reason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fromFileURL reads a file:// URL (host empty or localhost).
func fromFileURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "file" {
		return "", fmt.Errorf("%q is not a valid file:// URL", s)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("%q names another host; only local files (file:///path) can be read", s)
	}
	if u.Path == "" {
		return "", fmt.Errorf("%q has no path", s)
	}
	return filepath.FromSlash(u.Path), nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}
