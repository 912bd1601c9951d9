// Package deployments is the module root. It only carries the API's OpenAPI
// document, openapi.yaml, which lives at the repository root so integrators
// and tools find it there; go:embed cannot reach upwards, so the embedding
// happens here and pkg/openapi serves it.
package deployments

import _ "embed"

// OpenAPIYAML is openapi.yaml, the one source of the API's OpenAPI document.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte
