package storage

import (
	"strings"
	"unicode/utf8"
)

// ValidUTF8 replaces each byte that is not part of valid UTF-8 with U+FFFD, as encoding/json
// does. Receivers answer with arbitrary bytes, but documents hold strings (BSON strings are
// UTF-8, SQLite's JSON columns too), and both stores must return the same ones.
func ValidUTF8(s string) string {
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

// CapBody makes s valid UTF-8 and cuts it to at most max bytes, at a character boundary.
func CapBody(s string, max int) string {
	s = ValidUTF8(s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// CleanHeaders applies ValidUTF8 to a header map's names and values, copying it only if needed.
func CleanHeaders(m map[string]string) map[string]string {
	dirty := false
	for k, v := range m {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			dirty = true
			break
		}
	}
	if !dirty {
		return m
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[ValidUTF8(k)] = ValidUTF8(v)
	}
	return c
}
