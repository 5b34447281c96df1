package manifests

import (
	"sort"

	"github.com/goccy/go-yaml/ast"
)

// Kubernetes decodes manifests with sigs.k8s.io/yaml (YAML 1.1: aliases
// and merge keys resolved, the explicit key winning over a merged one, an
// earlier mapping of a merge list over a later one), and goccy/go-yaml's
// parser gives the syntax as written: an AliasNode where the cluster sees
// the anchored value, a MergeKeyNode where it sees the merged keys. So
// each document is resolved here, in place, before any check reads it,
// and the checks read what the cluster runs.
//
// A key written twice in one mapping is rejected by goccy (v1.19.2) and
// by kubectl's strict validation, but lenient clients (Helm, client-go,
// Argo CD) take the last value: the file is parsed with
// AllowDuplicateMapKey, the last entry is kept (the lenient reading), and
// each duplicate is returned for a finding, since tools disagree on what
// the file says.

// duplicate is a key written twice in one mapping.
type duplicate struct {
	key  string
	line int
}

type resolver struct {
	anchors map[string][]*ast.AnchorNode // by name, in document order
	state   map[ast.Node]int             // 1 while resolving, 2 when done
	result  map[ast.Node]ast.Node        // what a resolved node became
	dups    []duplicate
}

// resolve resolves a document's aliases and merge keys in place and
// returns its duplicate keys.
func resolve(doc ast.Node) []duplicate {
	r := &resolver{anchors: map[string][]*ast.AnchorNode{}, state: map[ast.Node]int{}, result: map[ast.Node]ast.Node{}}
	ast.Walk(r, doc)
	for _, l := range r.anchors {
		sort.SliceStable(l, func(i, j int) bool { return l[i].GetToken().Position.Offset < l[j].GetToken().Position.Offset })
	}
	r.node(doc)
	return r.dups
}

// Visit collects the anchors.
func (r *resolver) Visit(n ast.Node) ast.Visitor {
	if a, ok := n.(*ast.AnchorNode); ok && a.Name != nil {
		name := a.Name.GetToken().Value
		r.anchors[name] = append(r.anchors[name], a)
	}
	return r
}

// alias is the value an alias names: the nearest anchor of that name
// before it (YAML lets a name be anchored again). An alias that names an
// anchor being resolved (a value that contains itself, which the
// cluster's decoder rejects) or no anchor stays an AliasNode, which no
// check reads.
func (r *resolver) alias(a *ast.AliasNode) ast.Node {
	if a.Value == nil || a.Value.GetToken() == nil {
		return a
	}
	at := a.GetToken().Position.Offset
	list := r.anchors[a.Value.GetToken().Value]
	// Binary search, not a scan: a file of many aliases of one name stays
	// linear-logarithmic.
	i := sort.Search(len(list), func(i int) bool { return list[i].GetToken().Position.Offset >= at })
	if i == 0 || r.state[list[i-1].Value] == 1 {
		return a
	}
	return r.node(list[i-1].Value)
}

// node resolves n and returns what stands for it.
func (r *resolver) node(n ast.Node) ast.Node {
	if n == nil {
		return nil
	}
	if a, ok := n.(*ast.AliasNode); ok {
		return r.alias(a)
	}
	if r.state[n] == 1 {
		return n
	}
	if r.state[n] == 2 {
		return r.result[n]
	}
	r.state[n] = 1
	res := r.resolveNode(n)
	r.state[n], r.result[n] = 2, res
	return res
}

func (r *resolver) resolveNode(n ast.Node) ast.Node {
	switch t := n.(type) {
	case *ast.DocumentNode:
		t.Body = r.node(t.Body)
	case *ast.TagNode:
		t.Value = r.node(t.Value)
	case *ast.AnchorNode:
		t.Value = r.node(t.Value)
	case *ast.SequenceNode:
		for i, v := range t.Values {
			t.Values[i] = r.node(v)
		}
	case *ast.MappingValueNode:
		t.Value = r.node(t.Value)
		if _, merge := t.Key.(*ast.MergeKeyNode); merge {
			// A one-entry mapping that is a merge: {<<: {privileged: true}}.
			return r.mapping(&ast.MappingNode{BaseNode: &ast.BaseNode{}, Start: t.GetToken(), Values: []*ast.MappingValueNode{t}})
		}
		return t
	case *ast.MappingNode:
		for _, kv := range t.Values {
			kv.Value = r.node(kv.Value)
		}
		r.mapping(t)
	}
	return n
}

// mapping replaces a mapping's merge keys with the entries they merge
// and keeps the last of duplicate keys.
func (r *resolver) mapping(m *ast.MappingNode) *ast.MappingNode {
	explicit := map[string]int{} // key → index in out
	var out []*ast.MappingValueNode
	var merged []*ast.MappingValueNode
	for _, kv := range m.Values {
		if _, merge := kv.Key.(*ast.MergeKeyNode); merge {
			merged = append(merged, mergeSources(kv.Value)...)
			continue
		}
		k := keyOf(kv)
		if i, ok := explicit[k]; ok {
			r.dups = append(r.dups, duplicate{k, keyLine(kv)})
			out[i] = kv
			continue
		}
		explicit[k] = len(out)
		out = append(out, kv)
	}
	seen := map[string]bool{}
	for _, kv := range merged {
		k := keyOf(kv)
		if _, ok := explicit[k]; ok || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, kv)
	}
	m.Values = out
	return m
}

// mergeSources are the entries a merge key's value brings, first
// sources first: a mapping, or a list of them.
func mergeSources(v ast.Node) []*ast.MappingValueNode {
	if isMapping(v) {
		return pairs(v)
	}
	var out []*ast.MappingValueNode
	for _, it := range items(v) {
		out = append(out, pairs(it)...)
	}
	return out
}
