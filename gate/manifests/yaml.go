package manifests

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// The few helpers this package needs to read goccy/go-yaml's syntax tree:
// only the fields the checks read are decoded, each with its line.

func unwrap(n ast.Node) ast.Node {
	for {
		switch t := n.(type) {
		case *ast.TagNode:
			n = t.Value
		case *ast.AnchorNode:
			n = t.Value
		default:
			return n
		}
	}
}

// pairs are the entries of a mapping (a one-entry mapping is a bare
// MappingValueNode in goccy's tree).
func pairs(n ast.Node) []*ast.MappingValueNode {
	switch m := unwrap(n).(type) {
	case *ast.MappingNode:
		return m.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}
	}
	return nil
}

func isMapping(n ast.Node) bool {
	switch unwrap(n).(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return true
	}
	return false
}

func keyOf(kv *ast.MappingValueNode) string {
	if kv.Key == nil {
		return ""
	}
	// A tagged key (!!str privileged) is its value's text.
	if s, ok := scalar(kv.Key); ok {
		return s
	}
	if kv.Key.GetToken() == nil {
		return ""
	}
	return kv.Key.GetToken().Value
}

// isZero reads an integer as YAML 1.1 does (0, 00, 0x0, 0o0, +0, 0_0, 0.0):
// runAsUser: 0x0 is root too.
func isZero(s string) bool {
	s = strings.TrimLeft(strings.ReplaceAll(strings.TrimSpace(s), "_", ""), "+-")
	if s == "" {
		return false
	}
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") || strings.HasPrefix(s, "0o") || strings.HasPrefix(s, "0b") {
		s = s[2:]
	}
	return strings.Trim(s, "0.") == "" && strings.ContainsRune(s, '0')
}

// get is the entry of a mapping with the key, nil when absent.
func get(n ast.Node, key string) *ast.MappingValueNode {
	for _, kv := range pairs(n) {
		if keyOf(kv) == key {
			return kv
		}
	}
	return nil
}

// at follows keys down nested mappings.
func at(n ast.Node, keys ...string) *ast.MappingValueNode {
	var kv *ast.MappingValueNode
	for _, k := range keys {
		if n == nil {
			return nil
		}
		if kv = get(n, k); kv == nil {
			return nil
		}
		n = kv.Value
	}
	return kv
}

func value(kv *ast.MappingValueNode) ast.Node {
	if kv == nil {
		return nil
	}
	return kv.Value
}

// items are a sequence's elements.
func items(n ast.Node) []ast.Node {
	if s, ok := unwrap(n).(*ast.SequenceNode); ok {
		return s.Values
	}
	return nil
}

// scalar is a scalar's text ("" and false when not a scalar).
func scalar(n ast.Node) (string, bool) {
	switch t := unwrap(n).(type) {
	case *ast.StringNode:
		return t.Value, true
	case *ast.IntegerNode:
		return fmt.Sprint(t.Value), true
	case *ast.FloatNode:
		return fmt.Sprint(t.Value), true
	case *ast.BoolNode:
		return fmt.Sprint(t.Value), true
	case *ast.LiteralNode:
		return t.Value.Value, true
	}
	return "", false
}

func str(kv *ast.MappingValueNode) string {
	s, _ := scalar(value(kv))
	return s
}

// boolean reads true/false (YAML 1.1 and 1.2 spellings); set is false when
// the key is absent or not a boolean.
func boolean(kv *ast.MappingValueNode) (v, set bool) {
	s, ok := scalar(value(kv))
	if !ok {
		return false, false
	}
	// YAML 1.1's booleans, which sigs.k8s.io/yaml (the cluster's decoder)
	// and Compose's loader read: y, yes, on are true even where goccy's
	// YAML 1.2 reading makes them strings. Any case: the wider reading.
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "y":
		return true, true
	case "false", "no", "off", "n":
		return false, true
	}
	return false, false
}

func line(n ast.Node) int {
	if n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

// keyLine is the line of an entry's key.
func keyLine(kv *ast.MappingValueNode) int {
	if kv == nil {
		return 0
	}
	if kv.Key != nil {
		return line(kv.Key)
	}
	return line(kv)
}
