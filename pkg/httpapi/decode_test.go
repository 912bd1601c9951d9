package httpapi

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/onvera/deployments/pkg/apierr"
)

// FuzzDecodeCreate: any body either decodes to a valid input or is refused
// with a client error; never a panic, never an internal error. The seed
// corpus lives in testdata/fuzz/FuzzDecodeCreate and runs with `go test`.
func FuzzDecodeCreate(f *testing.F) {
	for _, s := range []string{
		`{"app_type": "airflow", "name": "Production Airflow"}`, `{"app_type":"superset"}`, `{}`, `[]`, `null`,
		`{"app_type":"airflow","name":null}`, `{"app_type":"airflow","extra":1}`, `{"app_type":"airflow"}{}`,
		`{"app_type":"airflow","name":"\u0000"}`, `{"app_type":"airflow","app_type":"kafka"}`, "\xff", ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		in, err := DecodeCreate(strings.NewReader(body))
		if err != nil {
			e, ok := apierr.As(err)
			if !ok || e.Status() >= 500 || e.Status() < 400 {
				t.Fatalf("body %q: %v", body, err)
			}
			return
		}
		if !in.AppType.Valid() {
			t.Fatalf("accepted invalid app_type %q", in.AppType)
		}
		if in.Name != "" && (!utf8.ValidString(in.Name) || utf8.RuneCountInString(in.Name) > 100) {
			t.Fatalf("accepted invalid name %q", in.Name)
		}
	})
}

func FuzzIntParam(f *testing.F) {
	for _, s := range []string{"1", "0", "-1", "100", "101", "abc", "", "99999999999", "+1", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		n, err := intParam(v, true, 50, 1, 100, "bad")
		if err == nil && (n < 1 || n > 100) {
			t.Fatalf("%q gave %d", v, n)
		}
		if err != nil && !apierr.Is(err, apierr.InvalidRequest) {
			t.Fatalf("%q: %v", v, err)
		}
	})
}
