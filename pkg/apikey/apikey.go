// Package apikey mints, hashes and checks API keys. A key's secret is shown
// once at creation; only its SHA-256 hash is stored, and nothing here logs it.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Scope is a permission a key carries.
type Scope string

const (
	ScopeRead  Scope = "deployments:read"
	ScopeWrite Scope = "deployments:write"
)

// AllScopes lists the valid scopes.
var AllScopes = []Scope{ScopeRead, ScopeWrite}

// ParseScopes parses a comma-separated scope list.
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, part := range strings.Split(s, ",") {
		sc := Scope(strings.TrimSpace(part))
		if sc == "" {
			continue
		}
		if !slices.Contains(AllScopes, sc) {
			return nil, fmt.Errorf("unknown scope %q (valid: %s, %s)", sc, ScopeRead, ScopeWrite)
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("at least one scope is required")
	}
	return out, nil
}

// Key prefixes: live keys for deployed stages, test keys for local ones.
const (
	PrefixLive = "onv_sk_live_"
	PrefixTest = "onv_sk_test_"
	secretLen  = 40 // base62 characters, about 238 bits
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Key is a stored key: everything but the secret.
type Key struct {
	Hash      string // hex SHA-256 of the whole key; the lookup key
	ID        string // short public id (first 12 hash digits), safe to show and log
	OrgID     string
	Scopes    []Scope
	CreatedAt time.Time
	RevokedAt time.Time // zero while active
}

// Has reports whether the key grants scope.
func (k Key) Has(s Scope) bool { return slices.Contains(k.Scopes, s) }

// Active reports whether the key is not revoked.
func (k Key) Active() bool { return k.RevokedAt.IsZero() }

// Generate mints a new secret with the given prefix.
func Generate(prefix string) (string, error) {
	b := make([]byte, secretLen)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	out := make([]byte, secretLen)
	for i, v := range b {
		// 256 is not a multiple of 62; rejection would be exact, but the bias
		// of v%62 costs under 0.3 bits over 40 characters. Keep it simple.
		out[i] = alphabet[int(v)%len(alphabet)]
	}
	return prefix + string(out), nil
}

// Hash is the stored form of a key.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// WellFormed rejects strings that cannot be keys without a database read.
func WellFormed(secret string) bool {
	var rest string
	switch {
	case strings.HasPrefix(secret, PrefixLive):
		rest = secret[len(PrefixLive):]
	case strings.HasPrefix(secret, PrefixTest):
		rest = secret[len(PrefixTest):]
	default:
		return false
	}
	if len(rest) < 32 || len(rest) > 128 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(alphabet, rest[i]) < 0 {
			return false
		}
	}
	return true
}

// ErrNotFound is returned by a Store for an unknown hash.
var ErrNotFound = errors.New("api key not found")

// Store persists keys by hash.
type Store interface {
	PutKey(ctx context.Context, k Key) error
	GetKey(ctx context.Context, hash string) (Key, error)
	ListKeys(ctx context.Context, orgID string) ([]Key, error)
	RevokeKey(ctx context.Context, id string, at time.Time) (Key, error)
}

// Authenticator resolves secrets to keys, caching lookups (hits and misses)
// for at most TTL so a warm request costs no read and a revocation is seen
// within TTL.
type Authenticator struct {
	Store Store
	TTL   time.Duration
	Now   func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	key     Key
	found   bool
	expires time.Time
}

// maxCached bounds memory when someone sprays random keys at us.
const maxCached = 10000

// Authenticate returns the active key for secret, or ok=false.
func (a *Authenticator) Authenticate(ctx context.Context, secret string) (Key, bool, error) {
	if !WellFormed(secret) {
		return Key{}, false, nil
	}
	h := Hash(secret)
	now := a.now()
	a.mu.Lock()
	c, hit := a.cache[h]
	a.mu.Unlock()
	if !hit || now.After(c.expires) {
		k, err := a.Store.GetKey(ctx, h)
		switch {
		case errors.Is(err, ErrNotFound):
			c = cached{}
		case err != nil:
			return Key{}, false, err
		default:
			c = cached{key: k, found: true}
		}
		c.expires = now.Add(a.TTL)
		a.mu.Lock()
		if a.cache == nil || len(a.cache) >= maxCached {
			a.cache = make(map[string]cached)
		}
		a.cache[h] = c
		a.mu.Unlock()
	}
	if !c.found || !c.key.Active() {
		return Key{}, false, nil
	}
	return c.key, true, nil
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Mint creates and stores a new key, returning the secret (shown once) and the record.
func Mint(ctx context.Context, st Store, orgID string, scopes []Scope, prefix string, now time.Time) (string, Key, error) {
	if strings.TrimSpace(orgID) == "" {
		return "", Key{}, errors.New("organization id is required")
	}
	secret, err := Generate(prefix)
	if err != nil {
		return "", Key{}, err
	}
	h := Hash(secret)
	k := Key{Hash: h, ID: h[:12], OrgID: orgID, Scopes: scopes, CreatedAt: now.UTC()}
	if err := st.PutKey(ctx, k); err != nil {
		return "", Key{}, err
	}
	return secret, k, nil
}
