package apikey

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// memStore is a small honest fake: a map with a read counter.
type memStore struct {
	keys  map[string]Key
	reads int
}

func (m *memStore) PutKey(_ context.Context, k Key) error { m.keys[k.Hash] = k; return nil }
func (m *memStore) GetKey(_ context.Context, h string) (Key, error) {
	m.reads++
	k, ok := m.keys[h]
	if !ok {
		return Key{}, ErrNotFound
	}
	return k, nil
}
func (m *memStore) ListKeys(context.Context, string) ([]Key, error) { return nil, nil }
func (m *memStore) RevokeKey(_ context.Context, id string, at time.Time) (Key, error) {
	for h, k := range m.keys {
		if k.ID == id {
			k.RevokedAt = at
			m.keys[h] = k
			return k, nil
		}
	}
	return Key{}, ErrNotFound
}

func TestGenerateAndWellFormed(t *testing.T) {
	a, _ := Generate(PrefixLive)
	b, _ := Generate(PrefixLive)
	if a == b || !strings.HasPrefix(a, PrefixLive) || len(a) != len(PrefixLive)+40 || !WellFormed(a) {
		t.Fatalf("generated %q %q", a, b)
	}
	for _, bad := range []string{"", "onv_sk_live_", "onv_sk_live_short", "sk_live_" + strings.Repeat("a", 40),
		PrefixTest + strings.Repeat("a", 31), PrefixTest + strings.Repeat("a", 39) + "!", PrefixTest + strings.Repeat("a", 129)} {
		if WellFormed(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
	if Hash(a) == a || len(Hash(a)) != 64 {
		t.Fatal("hash")
	}
}

func TestAuthenticatorCachesAndSeesRevocation(t *testing.T) {
	st := &memStore{keys: map[string]Key{}}
	now := time.Unix(1000, 0)
	auth := &Authenticator{Store: st, TTL: time.Minute, Now: func() time.Time { return now }}
	secret, k, err := Mint(context.Background(), st, "org", []Scope{ScopeRead}, PrefixTest, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, stored := st.keys[k.Hash]; !stored || k.Hash != Hash(secret) || k.Hash == secret {
		t.Fatal("the stored record must be keyed by hash only")
	}
	for range 5 {
		got, ok, err := auth.Authenticate(context.Background(), secret)
		if err != nil || !ok || got.OrgID != "org" || !got.Has(ScopeRead) || got.Has(ScopeWrite) {
			t.Fatalf("authenticate: %+v %v %v", got, ok, err)
		}
	}
	if st.reads != 1 {
		t.Fatalf("warm requests read the store: %d reads", st.reads)
	}
	// Malformed keys never reach the store.
	auth.Authenticate(context.Background(), "garbage")
	if st.reads != 1 {
		t.Fatal("malformed key read the store")
	}
	st.RevokeKey(context.Background(), k.ID, now)
	now = now.Add(59 * time.Second)
	if _, ok, _ := auth.Authenticate(context.Background(), secret); !ok {
		t.Fatal("cache entry should still be used within its TTL")
	}
	now = now.Add(2 * time.Second)
	if _, ok, _ := auth.Authenticate(context.Background(), secret); ok {
		t.Fatal("revoked key accepted after the TTL")
	}
}

func TestAuthenticatorStoreError(t *testing.T) {
	auth := &Authenticator{Store: &errStore{}, TTL: time.Minute}
	secret, _ := Generate(PrefixTest)
	if _, ok, err := auth.Authenticate(context.Background(), secret); ok || err == nil {
		t.Fatal("a store failure must surface as an error, not as an invalid key")
	}
}

type errStore struct{ memStore }

func (*errStore) GetKey(context.Context, string) (Key, error) { return Key{}, errors.New("throttled") }

func TestParseScopes(t *testing.T) {
	s, err := ParseScopes("deployments:read, deployments:write,deployments:read")
	if err != nil || len(s) != 2 {
		t.Fatalf("%v %v", s, err)
	}
	for _, bad := range []string{"", "deployments:admin", ","} {
		if _, err := ParseScopes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
