package webhook

import (
	"slices"
	"strings"
)

// Project returns the part of data that paths select (CONTRACT.md section 3, fields). Each
// path is a dot path into nested objects ("address.city"); the result keeps the nesting
// ({"address":{"city":…}}). A path absent from data, or one that runs through a value that is
// not an object (an array, a string, null), is left out. A path that another selected path
// contains ("address.city" next to "address") adds nothing. No paths: data itself.
//
// Project never changes data; the result shares the selected values with it.
func Project(data map[string]any, paths []string) map[string]any {
	if len(paths) == 0 {
		return data
	}
	out := make(map[string]any)
	for _, segs := range selectPaths(paths) {
		v, ok := lookup(data, segs)
		if !ok {
			continue
		}
		// The intermediate objects are always ours: selectPaths dropped every path under
		// another one, so no path can descend into a value taken whole from data.
		node := out
		for _, s := range segs[:len(segs)-1] {
			next, ok := node[s].(map[string]any)
			if !ok {
				next = make(map[string]any)
				node[s] = next
			}
			node = next
		}
		node[segs[len(segs)-1]] = v
	}
	return out
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

func lookup(data map[string]any, segs []string) (any, bool) {
	var cur any = data
	for _, s := range segs {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[s]; !ok {
			return nil, false
		}
	}
	return cur, true
}
