package localfiles

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// OutputDir is where results are saved. Nothing is ever written outside it,
// and a file appears only once it is complete.
type OutputDir struct {
	dir string
}

// DefaultOutputDir is where results are saved unless --output-dir says
// otherwise: a vace-mcp folder in the user's videos folder,
// $XDG_VIDEOS_DIR/vace-mcp when that is set, else ~/Movies/vace-mcp on macOS
// and ~/Videos/vace-mcp elsewhere. It is absolute because desktop hosts
// start servers with the working directory set to /, where a relative
// default would be unwritable and nobody would look.
func DefaultOutputDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_VIDEOS_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, "vace-mcp"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, videosFolder(runtime.GOOS), "vace-mcp"), nil
}

// videosFolder is the name of the videos folder in a home directory.
func videosFolder(goos string) string {
	if goos == "darwin" {
		return "Movies"
	}
	return "Videos"
}

// NewOutputDir names the output directory; it is made (with its parents)
// only when the first file is saved, so starting a server creates nothing.
func NewOutputDir(dir string) (*OutputDir, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return &OutputDir{dir: abs}, nil
}

func (o *OutputDir) ensure() error {
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return fmt.Errorf("output directory %s cannot be created: %w", o.dir, err)
	}
	return nil
}

// Dir is the directory's absolute path.
func (o *OutputDir) Dir() string { return o.dir }

// Check judges a file's content: nil if it is what it should be.
type Check func(r io.ReaderAt, size int64) error

// Save writes a file named name (a plain file name, no directories) by
// calling write on a temporary file in the same directory, then check on
// what was written, then renaming it into place. If write or check fails,
// nothing is left behind: a file of that name is always one that passed.
func (o *OutputDir) Save(name string, write func(io.Writer) error, check Check) (string, error) {
	if name == "" || name != filepath.Base(name) || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return "", fmt.Errorf("output name %q must be a plain file name", name)
	}
	if err := o.ensure(); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(o.dir, "."+name+".part-*")
	if err != nil {
		return "", fmt.Errorf("output directory %s is not writable: %w", o.dir, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	st, err := tmp.Stat()
	if err != nil {
		return "", err
	}
	if err := check(tmp, st.Size()); err != nil {
		return "", err
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes files private; a saved video is an ordinary file
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	final := filepath.Join(o.dir, name)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", err
	}
	ok = true
	return final, nil
}

// Existing returns the path of a saved file, if there is one that passes
// check: a file put there by other means (or by an older version that did
// not check) is not taken for a result, and the next Save replaces it.
func (o *OutputDir) Existing(name string, check Check) (string, bool) {
	if name != filepath.Base(name) {
		return "", false
	}
	p := filepath.Join(o.dir, name)
	if !Intact(p, check) {
		return "", false
	}
	return p, true
}

// Intact reports whether path is a saved file that still passes check: a
// regular, non-empty file, not a link. It lets a result saved earlier, by
// any process into its own output directory, be reused without trusting
// whatever now has its name.
func Intact(path string, check Check) bool {
	f, err := openNoFollow(path)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	return err == nil && st.Mode().IsRegular() && st.Size() > 0 && check(f, st.Size()) == nil
}

// CheckWritable reports whether a file can be created in the directory.
func (o *OutputDir) CheckWritable() error {
	if err := o.ensure(); err != nil {
		return err
	}
	f, err := os.CreateTemp(o.dir, ".vace-mcp-check-*")
	if err != nil {
		return fmt.Errorf("output directory %s is not writable: %w", o.dir, err)
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(name)
}
