// Package openapi serves the API's OpenAPI 3.1 document. The source is
// openapi.yaml at the repository root (embedded by the root package); the JSON
// served at GET /api/v1/openapi.json is converted from it once per process, so
// there is one file to edit and nothing generated to keep in sync.
package openapi

import (
	"encoding/json"
	"fmt"
	"sync"

	deployments "github.com/onvera/deployments"
	"go.yaml.in/yaml/v4"
)

// YAML returns the document as written.
func YAML() []byte { return deployments.OpenAPIYAML }

// JSON returns the document as JSON. The conversion runs once; an error means
// openapi.yaml is not valid YAML, which the package's tests catch.
var JSON = sync.OnceValues(func() ([]byte, error) { return ToJSON(deployments.OpenAPIYAML) })

// ToJSON converts a YAML document to JSON.
func ToJSON(src []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	v, err := jsonable(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// jsonable turns YAML's decoded maps into JSON objects; a non-string key
// (such as an unquoted status code) is an error rather than a silent change.
func jsonable(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			t[k] = j
		}
		return t, nil
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			s, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("openapi.yaml: key %v (%T) is not a string; quote it", k, k)
			}
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			out[s] = j
		}
		return out, nil
	case []any:
		for i, e := range t {
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			t[i] = j
		}
		return t, nil
	default:
		return v, nil
	}
}
