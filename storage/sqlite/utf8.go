package sqlite

import (
	"strings"
	"unicode/utf8"
)

// validUTF8 replaces each byte that is not part of valid UTF-8 with U+FFFD, as encoding/json
// does for the JSON columns. Receivers answer with arbitrary bytes, but documents hold strings,
// and both stores must return the same ones.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// capBody makes s valid UTF-8 and cuts it to at most max bytes, at a character boundary.
func capBody(s string, max int) string {
	s = validUTF8(s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
