// Package openapi serves the API's OpenAPI 3.1 document. The source is
// openapi.yaml at the repository root; openapi.json beside this file is
// generated from it by `make openapi` (go run ./pkg/openapi/gen), and a test
// fails when the two differ. Serving pre-built JSON keeps a YAML parser out
// of every Lambda's cold start.
package openapi

import _ "embed"

//go:embed openapi.json
var doc []byte

// JSON returns the document as JSON.
func JSON() ([]byte, error) { return doc, nil }
