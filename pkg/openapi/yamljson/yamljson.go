// Package yamljson converts the OpenAPI YAML source to JSON. Only the
// generator and tests use it, so no Lambda links a YAML parser.
package yamljson

import (
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v4"
)

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
