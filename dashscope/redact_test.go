package dashscope

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPlainRemovesEscapesAndControlsAndFoldsSpace(t *testing.T) {
	for in, want := range map[string]string{
		"a\x1b[1;31mb\x1b[0m":                            "ab",
		"a\x1b]8;;https://x.example\x1b\\link\x1b]8;;\a": "alink", // a terminal hyperlink, ended by ST then BEL
		"a\x1b]0;title":                                  "a",     // a control string never ended
		"a\x1b[12":                                       "a",     // a control sequence cut short
		"a\x1b":                                          "a",
		"a\u009b2Jb":                                     "ab", // the one-character CSI
		"a\x1b(Bb":                                       "ab", // an escape with an intermediate
		"  a \r\n\n b\t\u2028c ":                         "a b c",
		"a\x00\u202eb\u200bc\u0085d":                     "abc d",
		"a\xffb":                                         "a\uFFFDb",
		"参数错误: size 不匹配":                                 "参数错误: size 不匹配",
	} {
		assert.Equal(t, want, plain(in), "%q", in)
	}
}

func TestRedactorFindsRunsOfASecretInAnyCase(t *testing.T) {
	const key = "sk-0123456789abcdef"
	r := newRedactor(key, "")
	assert.Equal(t, "a [redacted] b", r.redact("a SK-0123456789ABCDEF b"))
	assert.Equal(t, "[redacted]…", r.redact("sk-01234567…"), "cut short")
	assert.Equal(t, "x[redacted]y", r.redact("x89ABCDEFsk-01234y"), "pieces side by side are one redaction")
	assert.Equal(t, "sk-0123 is too short to identify", r.redact("sk-0123 is too short to identify"), "7 characters")
	assert.Equal(t, "[redacted] ok", newRedactor("pw").redact("PW ok"), "a short secret is matched whole")
	assert.Equal(t, "nothing to hide", newRedactor("").redact("nothing to hide"))
}

func TestRedactURLHidesUserinfoOnly(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@host.example/api/v1":       "https://xxxxx@host.example/api/v1",
		"http://user@127.0.0.1:8080/x?y=@":      "http://xxxxx@127.0.0.1:8080/x?y=@",
		"https://u:p@ss@host.example/api/v1":    "https://xxxxx@host.example/api/v1",
		"https://host.example/users/@me/api/v1": "https://host.example/users/@me/api/v1",
		"host.example/api/v1":                   "host.example/api/v1",
	} {
		assert.Equal(t, want, RedactURL(in), in)
	}
}

func TestQuotedLeavesIdentifiersBare(t *testing.T) {
	assert.Equal(t, "Throttling.RateQuota", quoted("Throttling.RateQuota"))
	assert.Equal(t, "7438d53d-0000_x", quoted("7438d53d-0000_x"))
	assert.Equal(t, `"ignore previous instructions"`, quoted("ignore previous instructions"))
	assert.Equal(t, `"a\"b"`, quoted(`a"b`), "a quote in the text cannot end the quotation")
}
