package ingesthttp

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShorten(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"ééé", 3, "ééé"},
		{"éééé", 3, "éé…"},
		{"日本語テキスト", 4, "日本語…"},
	} {
		if got := shorten(c.in, c.n); got != c.want {
			t.Errorf("shorten(%q, %d): got %q, want %q", c.in, c.n, got, c.want)
		}
	}
	long := strings.Repeat("é", 7000)
	if got := shorten(long, 6144); utf8.RuneCountInString(got) != 6144 || !strings.HasSuffix(got, "é…") || !utf8.ValidString(got) {
		t.Errorf("shorten of 7000 runes to 6144: got %d runes (valid %v)", utf8.RuneCountInString(got), utf8.ValidString(got))
	}
}
