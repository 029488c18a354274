package dashscope

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// URLCheck checks one media URL of a request. field names it as the caller
// wrote it ("video_url", "ref_images_url[1]"); the result is nil or the
// problem, which validation reports under that field.
type URLCheck func(field, url string) error

// validator collects a request's problems.
type validator struct {
	fieldErrors
	check URLCheck
}

func (v *validator) common(prompt string, seed *int) {
	switch n := utf8.RuneCountInString(prompt); {
	case strings.TrimSpace(prompt) == "":
		v.add("prompt", "required: describe the video you want (at most %d characters)", MaxPromptRunes)
	case n > MaxPromptRunes:
		v.add("prompt", "at most %d characters (got %d); the service would silently cut the rest", MaxPromptRunes, n)
	}
	if seed != nil && (*seed < 0 || *seed > MaxSeed) {
		v.add("seed", "must be between 0 and %d (got %d)", MaxSeed, *seed)
	}
}

func (v *validator) url(field, u string) {
	if err := v.check(field, u); err != nil {
		v.fieldErrors = append(v.fieldErrors, asFieldError(field, err))
	}
}

func (v *validator) requiredURL(field, u string) {
	if u == "" {
		v.add(field, "required: an http(s) or oss:// URL")
		return
	}
	v.url(field, u)
}

func (v *validator) urls(field string, us []string) {
	for i, u := range us {
		v.url(fmt.Sprintf("%s[%d]", field, i), u)
	}
}

// subjectImage checks the optional single reference image of video_repainting and video_edit.
func (v *validator) subjectImage(us []string) {
	if len(us) > MaxSubjectImages {
		v.add("ref_images_url", "at most %d image for this function (got %d)", MaxSubjectImages, len(us))
	}
	v.urls("ref_images_url", us)
}

func (v *validator) between(field string, got *float64, lo, hi float64) {
	if got != nil && (*got < lo || *got > hi) {
		v.add(field, "must be between %.1f and %.1f (got %g)", lo, hi, *got)
	}
}

func asFieldError(field string, err error) error {
	if fe, ok := err.(*FieldError); ok {
		return fe
	}
	return &FieldError{Field: field, Problem: err.Error()}
}

// quotedList writes a list of allowed values for messages: "a", "b" or "c".
func quotedList[T ~string](values []T) string {
	var b strings.Builder
	for i, v := range values {
		switch {
		case i == 0:
		case i == len(values)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", string(v))
	}
	return b.String()
}

// CheckURL accepts what the service can fetch: an absolute http, https or
// oss URL with a host, free of Chinese characters, spaces and control
// characters. It is the [URLCheck] that Validate uses.
func CheckURL(field, raw string) error {
	bad := func(format string, args ...any) error {
		return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a valid URL (%q): give an http(s) or oss:// URL", raw)
	}
	switch u.Scheme {
	case "http", "https", "oss":
	default:
		return bad("must be an http(s) or oss:// URL (got %q)", raw)
	}
	if u.Host == "" {
		return bad("URL has no host (got %q)", raw)
	}
	if strings.IndexFunc(raw, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0 {
		return bad("URL must not contain Chinese characters: percent-encode them (got %q)", raw)
	}
	if strings.IndexFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return bad("URL must not contain spaces or control characters: percent-encode them (got %q)", raw)
	}
	return nil
}
