package deployment

import (
	"regexp"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	ok := []string{"Production Airflow", "a", strings.Repeat("ü", 100), "日本語の名前", "x-y_z.1"}
	bad := []string{"", " ", "\t\n", strings.Repeat("a", 101), "tab\there", "nul\x00", "bell\a", "\xff\xfe"}
	for _, n := range ok {
		if err := ValidateName(n); err != nil {
			t.Errorf("%q refused: %v", n, err)
		}
	}
	for _, n := range bad {
		if err := ValidateName(n); err == nil {
			t.Errorf("%q accepted", n)
		}
	}
}

func TestGenerateNameIsValidAndReadable(t *testing.T) {
	re := regexp.MustCompile(`^superset-[a-z]+-[a-z]+-\d{4}$`)
	for range 200 {
		n := GenerateName(Superset)
		if !re.MatchString(n) || ValidateName(n) != nil {
			t.Fatalf("generated %q", n)
		}
	}
}

func TestIDs(t *testing.T) {
	if !ValidID("550e8400-e29b-41d4-a716-446655440000") || ValidID("550e8400e29b41d4a716446655440000") || ValidID("x") {
		t.Fatal("ValidID")
	}
	if !ValidOperationID("op_660e8400-e29b-41d4-a716-446655440001") || ValidOperationID("660e8400-e29b-41d4-a716-446655440001") {
		t.Fatal("ValidOperationID")
	}
}

func TestURLAndPages(t *testing.T) {
	d := Deployment{ID: "550e8400-e29b-41d4-a716-446655440000", AppType: Airflow}
	if u := URLFor(d, "onvera.io"); u != "https://airflow.550e8400e29b.onvera.io" {
		t.Fatal(u)
	}
	for _, c := range []struct{ total, per, pages int64 }{{0, 50, 0}, {1, 50, 1}, {50, 50, 1}, {51, 50, 2}, {100000, 100, 1000}} {
		if p := (Page{Total: c.total, PerPage: int(c.per)}).Pages(); p != c.pages {
			t.Errorf("%d/%d: %d pages", c.total, c.per, p)
		}
	}
}

func TestStatusRules(t *testing.T) {
	for s, want := range map[Status]bool{Provisioning: true, Ready: true, Failed: true, Destroying: false, Destroyed: false} {
		if s.Deletable() != want {
			t.Errorf("%s deletable=%v", s, !want)
		}
	}
}
