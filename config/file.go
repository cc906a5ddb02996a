package config

import (
	"errors"
	"fmt"
	"os"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// The setting that names the configuration file. It is not in binds: a
// file cannot name another file.
const (
	ConfigFlag = "config"
	ConfigEnv  = "ROLEGATE_CONFIG"
)

// Source says where a setting's value came from.
type Source string

// Sources of a value, from weakest to strongest.
const (
	SourceDefault Source = "default"
	SourceFile    Source = "file"
	SourceEnv     Source = "env"
	SourceFlag    Source = "flag"
)

// applyFile applies the settings of the YAML file at path: a mapping from
// flag names to single values. Unknown keys, repeated keys and values that
// are not single values are errors, each with its line.
func (c *Config) applyFile(path string) []error {
	data, err := os.ReadFile(path)
	if err != nil {
		return []error{fmt.Errorf("config file: %w", err)}
	}
	// Repeated keys are allowed here so that they are reported below with
	// every other problem, not alone as a syntax error.
	file, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return []error{syntaxError(path, err)}
	}
	var body ast.Node
	if len(file.Docs) > 0 {
		body = file.Docs[0].Body
	}
	if body == nil {
		return nil // an empty file sets nothing
	}
	m, ok := body.(*ast.MappingNode)
	if !ok {
		return []error{fmt.Errorf("%s:%d: want a mapping of settings, such as \"addr: :8080\"", path, line(body))}
	}
	byFlag := make(map[string]bind, len(binds))
	for _, b := range binds {
		byFlag[b.Flag] = b
	}
	seen := map[string]int{}
	var errs []error
	for _, kv := range m.Values {
		key, _ := scalarText(kv.Key)
		at := fmt.Sprintf("%s:%d", path, line(kv.Key))
		b, known := byFlag[key]
		value, single := scalarText(kv.Value)
		switch {
		case !known:
			errs = append(errs, fmt.Errorf("%s: unknown setting %q", at, key))
		case seen[key] > 0:
			errs = append(errs, fmt.Errorf("%s: %q is already set on line %d", at, key, seen[key]))
		case !single:
			errs = append(errs, fmt.Errorf("%s: %s: want a single value", at, key))
		default:
			if err := c.apply(b, value, SourceFile); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", at, key, err))
			} else {
				c.lines[key] = line(kv.Key)
			}
		}
		seen[key] = line(kv.Key)
	}
	return errs
}

// scalarText is the text of a single value, as written (an integer keeps
// its spelling), and whether n is one: a null, a list, a mapping or an
// alias is not.
func scalarText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.TagNode:
		return scalarText(v.Value)
	case *ast.AnchorNode:
		return scalarText(v.Value)
	case *ast.NullNode, *ast.AliasNode:
		return "", false
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case ast.ScalarNode:
		return v.GetToken().Value, true
	}
	return "", false
}

// line is the line n starts on.
func line(n ast.Node) int {
	if tk := n.GetToken(); tk != nil {
		return tk.Position.Line
	}
	return 0
}

// syntaxError names the line of a YAML syntax error, on one line.
func syntaxError(path string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		return fmt.Errorf("%s:%d: %s", path, ye.GetToken().Position.Line, ye.GetMessage())
	}
	return fmt.Errorf("%s: %w", path, err)
}
