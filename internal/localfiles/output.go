package localfiles

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// OutputDir is where results are saved. Nothing is ever written outside it,
// and a file appears only once it is complete.
type OutputDir struct {
	dir string
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

// Save writes a file named name (a plain file name, no directories) by
// calling write on a temporary file in the same directory, then renaming it
// into place. If write fails, nothing is left behind.
func (o *OutputDir) Save(name string, write func(io.Writer) error) (string, error) {
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

// Existing returns the path of a saved file, if there is one.
func (o *OutputDir) Existing(name string) (string, bool) {
	p := filepath.Join(o.dir, name)
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() || st.Size() == 0 || name != filepath.Base(name) {
		return "", false
	}
	return p, true
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
