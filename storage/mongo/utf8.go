package mongo

import (
	"strings"
	"unicode/utf8"
)

// validUTF8 replaces each byte that is not part of valid UTF-8 with U+FFFD, as encoding/json
// does, and so the SQLite store. Receivers answer with arbitrary bytes, but BSON strings are
// UTF-8, and both stores must return the same strings.
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

// cleanMap applies validUTF8 to a header map's names and values, copying it only if needed.
func cleanMap(m map[string]string) map[string]string {
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
		c[validUTF8(k)] = validUTF8(v)
	}
	return c
}
