package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestEveryCodeHasStatus(t *testing.T) {
	for _, c := range Codes() {
		if s := StatusOf(c); s < 400 || s > 599 {
			t.Errorf("%s maps to %d", c, s)
		}
	}
	if StatusOf("NO_SUCH_CODE") != http.StatusInternalServerError {
		t.Error("unknown code must be a 500")
	}
}

func TestAsThroughWrapping(t *testing.T) {
	err := fmt.Errorf("get: %w", ErrDeploymentNotFound)
	e, ok := As(err)
	if !ok || e.Status() != 404 || !Is(err, DeploymentNotFound) {
		t.Fatalf("wrapped error lost: %v %v", e, ok)
	}
	if _, ok := As(errors.New("dynamodb: timeout")); ok {
		t.Fatal("an internal error must not pass as client-visible")
	}
}
