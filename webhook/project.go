package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ProjectJSON returns the part of the JSON object data that paths select (CONTRACT.md section 3,
// fields). Each path is a dot path into nested objects ("address.city"); the result keeps the
// nesting ({"address":{"city":…}}). A path absent from data, or one that runs through a value
// that is not an object (an array, a string, null), is left out. A path that another selected
// path contains ("address.city" next to "address") adds nothing. No paths: data itself.
//
// It works on the raw JSON, keeping the data's key order: the selected fields come out in the
// order the event wrote them, at every level, as a document database's projection does, so the
// webhook body is the event's data with fields left out and nothing moved. Values are copied as
// written (numbers keep every digit). When a key appears twice, the last value wins, at the
// key's first place.
func ProjectJSON(data []byte, paths []string) ([]byte, error) {
	if len(paths) == 0 {
		return data, nil
	}
	root := &pathNode{}
	for _, segs := range selectPaths(paths) {
		n := root
		for _, s := range segs {
			k := n.kids[s]
			if k == nil {
				if n.kids == nil {
					n.kids = make(map[string]*pathNode)
				}
				k = &pathNode{}
				n.kids[s] = k
			}
			n = k
		}
		// selectPaths dropped every path under another, so a whole node never gets children.
		n.whole = true
	}
	out, _, err := projectObject(data, root)
	if err != nil {
		return nil, fmt.Errorf("project data: %w", err)
	}
	return out, nil
}

// pathNode is one segment of the selected paths: either taken whole, or an object some of whose
// keys are selected.
type pathNode struct {
	whole bool
	kids  map[string]*pathNode
}

type member struct {
	key   string
	value json.RawMessage
}

// projectObject returns the members of the object obj that n selects, in obj's order, and how
// many there are.
func projectObject(obj []byte, n *pathNode) ([]byte, int, error) {
	members, err := objectMembers(obj)
	if err != nil {
		return nil, 0, err
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	count := 0
	for _, m := range members {
		k := n.kids[m.key]
		if k == nil {
			continue
		}
		value := []byte(m.value)
		if !k.whole {
			if v := bytes.TrimSpace(value); len(v) == 0 || v[0] != '{' {
				continue // a path through a value that is not an object selects nothing
			}
			sub, c, err := projectObject(value, k)
			if err != nil {
				return nil, 0, err
			}
			if c == 0 {
				continue // every path below is absent: left out, not an empty object
			}
			value = sub
		}
		key, err := encode(m.key)
		if err != nil {
			return nil, 0, err
		}
		if count > 0 {
			buf.WriteByte(',')
		}
		buf.Write(key)
		buf.WriteByte(':')
		buf.Write(value)
		count++
	}
	buf.WriteByte('}')
	return buf.Bytes(), count, nil
}

// objectMembers reads a JSON object's members in order, the last value of a repeated key
// replacing the first one in its place (encoding/json's last-wins, without the reordering).
func objectMembers(obj []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var members []member
	var at map[string]int
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key is not a string")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if i, dup := at[key]; dup {
			members[i].value = v
			continue
		}
		if at == nil {
			at = make(map[string]int)
		}
		at[key] = len(members)
		members = append(members, member{key: key, value: v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("content after the JSON object")
	}
	return members, nil
}

// selectPaths splits the paths into segments, dropping duplicates and paths under another.
func selectPaths(paths []string) [][]string {
	split := make([][]string, 0, len(paths))
	for _, p := range paths {
		split = append(split, strings.Split(p, "."))
	}
	// Shorter first, so that a covering path is kept before any path under it is considered.
	slices.SortStableFunc(split, func(a, b []string) int { return len(a) - len(b) })
	kept := split[:0:0]
	for _, segs := range split {
		if !slices.ContainsFunc(kept, func(k []string) bool {
			return len(k) <= len(segs) && slices.Equal(k, segs[:len(k)])
		}) {
			kept = append(kept, segs)
		}
	}
	return kept
}
