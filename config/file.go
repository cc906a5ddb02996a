package config

import (
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
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
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []error{fmt.Errorf("%s: %w", path, err)}
	}
	if len(doc.Content) == 0 {
		return nil // an empty file sets nothing
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return []error{fmt.Errorf("%s:%d: want a mapping of settings, such as \"addr: :8080\"", path, m.Line)}
	}
	byFlag := make(map[string]bind, len(binds))
	for _, b := range binds {
		byFlag[b.Flag] = b
	}
	seen := map[string]int{}
	var errs []error
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		at := fmt.Sprintf("%s:%d", path, k.Line)
		b, known := byFlag[k.Value]
		switch {
		case !known:
			errs = append(errs, fmt.Errorf("%s: unknown setting %q", at, k.Value))
		case seen[k.Value] > 0:
			errs = append(errs, fmt.Errorf("%s: %q is already set on line %d", at, k.Value, seen[k.Value]))
		case v.Kind != yaml.ScalarNode || v.Tag == "!!null":
			errs = append(errs, fmt.Errorf("%s: %s: want a single value", at, k.Value))
		default:
			if err := c.apply(b, v.Value, SourceFile); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", at, k.Value, err))
			}
		}
		seen[k.Value] = k.Line
	}
	return errs
}
