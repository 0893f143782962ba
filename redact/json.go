package redact

import "strings"

// JSON masks, in place, a JSON value decoded into any (map[string]any, []any, strings, numbers,
// bools, nil), wherever it is nested, with keys matched as encoding/json matches them
// (case-insensitively):
//   - secret_key: Secret;
//   - headers: an object of header values, each as Header masks it;
//   - url, and keys ending in url or _url: URL;
//   - any other key that CredentialName matches: Value, or Mask when the value is not a string.
//
// It returns v, for convenience.
func JSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			t[k] = member(k, val)
		}
	case []any:
		for i, e := range t {
			t[i] = JSON(e)
		}
	}
	return v
}

func member(key string, val any) any {
	k := Fold(key)
	s, isString := val.(string)
	switch {
	case k == "secret_key":
		if isString {
			return Secret(s)
		}
		return maskAny(val)
	case k == "headers":
		h, ok := val.(map[string]any)
		if !ok {
			return JSON(val)
		}
		for name, hv := range h {
			if !CredentialHeader(name) {
				continue
			}
			if hs, ok := hv.(string); ok {
				h[name] = Value(hs)
			} else {
				h[name] = maskAny(hv)
			}
		}
		return h
	case strings.HasSuffix(k, "url") && isString:
		return URL(s)
	case credentialFolded(k):
		if isString {
			return Value(s)
		}
		return maskAny(val)
	}
	return JSON(val)
}

// maskAny is the mask of a value of a credential's key that is not a string: nothing of it is
// kept, but null stays null.
func maskAny(v any) any {
	if v == nil {
		return nil
	}
	return Mask
}
