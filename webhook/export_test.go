package webhook

// Project is the reference the tests hold ProjectJSON to: the same selection, on decoded data,
// written for clarity rather than to keep the key order. It returns data itself for no paths,
// and never changes data (the result shares the selected values with it).
func Project(data map[string]any, paths []string) map[string]any {
	if len(paths) == 0 {
		return data
	}
	out := make(map[string]any)
	for _, segs := range selectPaths(paths) {
		v, ok := Lookup(data, segs)
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

// Lookup returns the value at the path segs in data, and whether there is one.
func Lookup(data map[string]any, segs []string) (any, bool) {
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
