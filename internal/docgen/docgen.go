// Package docgen keeps README.md's generated sections (the tool reference,
// the flag table) in step with the code that generates them.
package docgen

import (
	"os"
	"strings"
	"testing"
)

// Update is set (UPDATE_TOOLSNAPS=1) to rewrite generated files instead of comparing.
var Update = os.Getenv("UPDATE_TOOLSNAPS") != ""

// CheckSection fails t when the section of the Markdown file at path between
// <!-- name:begin --> and <!-- name:end --> is not want, or rewrites it when
// Update is set.
func CheckSection(t testing.TB, path, name, want string) {
	t.Helper()
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	before, rest, ok := strings.Cut(string(readme), begin)
	if !ok {
		t.Fatalf("%s lacks %q", path, begin)
	}
	current, after, ok := strings.Cut(rest, end)
	if !ok {
		t.Fatalf("%s lacks %q", path, end)
	}
	if Update {
		if err := os.WriteFile(path, []byte(before+begin+want+end+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if current != want {
		t.Errorf("%s: the %s section is stale; run UPDATE_TOOLSNAPS=1 go test ./...", path, name)
	}
}
