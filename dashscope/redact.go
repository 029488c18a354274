package dashscope

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text that came from upstream (the API root, a proxy in front of it, the
// storage host) is shown to people and to the model that called a tool. It
// is made plain, scrubbed of secrets and shortened before it is kept.

// Longest upstream texts kept, in characters: a message says what went wrong
// in a sentence or two; codes and request ids are identifiers.
const (
	maxMessageRunes = 200
	maxCodeRunes    = 64
)

// minSecretRun is the shortest run of a secret's characters that is redacted:
// long enough to identify a key (8 of its 32 random hex digits), too long to
// match ordinary words or ids by chance.
const minSecretRun = 8

// redactor finds secrets in text, in any case and in part.
type redactor struct {
	// runs holds, by length, every lower-cased run of minSecretRun characters
	// of each secret (the whole secret when it is shorter).
	runs map[int]map[string]bool
}

func newRedactor(secrets ...string) *redactor {
	r := &redactor{runs: map[int]map[string]bool{}}
	for _, s := range secrets {
		s = asciiLower(s)
		n := min(minSecretRun, len(s))
		if n == 0 {
			continue
		}
		if r.runs[n] == nil {
			r.runs[n] = map[string]bool{}
		}
		for i := 0; i+n <= len(s); i++ {
			r.runs[n][s[i:i+n]] = true
		}
	}
	return r
}

// redact replaces every stretch of s made of runs of a secret with
// "[redacted]": a secret echoed whole, cut short, upper-cased or in pieces.
func (r *redactor) redact(s string) string {
	if len(r.runs) == 0 {
		return s
	}
	low := asciiLower(s)
	hidden := make([]bool, len(s))
	found := false
	for n, runs := range r.runs {
		for i := 0; i+n <= len(low); i++ {
			if runs[low[i:i+n]] {
				found = true
				for j := i; j < i+n; j++ {
					hidden[j] = true
				}
			}
		}
	}
	if !found {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case !hidden[i]:
			b.WriteByte(s[i])
		case i == 0 || !hidden[i-1]:
			b.WriteString("[redacted]")
		}
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD") // a secret with non-ASCII characters may be cut mid-character
}

// asciiLower lower-cases ASCII letters only, so byte offsets stay those of s
// (keys are ASCII; strings.ToLower could change lengths).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// plain makes upstream text inert on a terminal and in a prompt: escape
// sequences and control and format characters (bidi overrides, zero-width
// marks, NUL) are removed, line breaks and other spaces become single
// spaces, and invalid UTF-8 becomes U+FFFD.
func plain(s string) string {
	rs := []rune(strings.ToValidUTF8(s, "\uFFFD"))
	var b strings.Builder
	space := false
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\x1b' || r == '\u009b':
			i = endOfEscape(rs, i)
		case unicode.IsSpace(r):
			space = b.Len() > 0
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// endOfEscape returns the index of the last rune of the escape sequence that
// starts at rs[i] (ESC, or the one-rune CSI U+009B), per ECMA-48: a control
// sequence ends at its final byte, a control string (OSC, DCS, …) at BEL or
// ST, and any other escape after its intermediates and final character.
func endOfEscape(rs []rune, i int) int {
	csi := rs[i] == '\u009b'
	if !csi && i+1 < len(rs) {
		switch rs[i+1] {
		case '[':
			csi, i = true, i+1
		case ']', 'P', 'X', '^', '_':
			for i += 2; i < len(rs); i++ {
				if rs[i] == '\a' || rs[i] == '\u009c' {
					return i
				}
				if rs[i] == '\x1b' && i+1 < len(rs) && rs[i+1] == '\\' {
					return i + 1
				}
			}
			return len(rs) - 1
		}
	}
	if csi {
		for i++; i < len(rs) && rs[i] >= 0x20 && rs[i] <= 0x3f; i++ { // parameters and intermediates
		}
		if i < len(rs) && rs[i] >= 0x40 && rs[i] <= 0x7e {
			return i
		}
		return i - 1
	}
	for i++; i < len(rs) && rs[i] >= 0x20 && rs[i] <= 0x2f; i++ { // intermediates
	}
	if i < len(rs) {
		return i // the final character
	}
	return len(rs) - 1
}

// shorten cuts s to at most n characters, marking the cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// quoted writes upstream text as a quoted string when it is anything but a
// plain identifier (such as InvalidParameter or a request id), so that what
// the upstream said cannot pass for what the client says.
func quoted(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return strconv.Quote(s)
		}
	}
	return s
}

// RedactURL hides a URL's userinfo (user name and password) for display,
// leaving the rest as given. net/http's own errors keep the user name, and
// url.URL.Redacted keeps it too.
func RedactURL(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	rest := raw[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return raw
	}
	return raw[:i+3] + "xxxxx" + rest[at:]
}
