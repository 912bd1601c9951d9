// Package config names every environment variable the functions read and
// loads them once. infra/ sets the same names from these constants, so the
// stack and the code cannot disagree.
package config

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"
)

// Environment variable names shared by infra/, functions/, cmd/ and the local gateway.
const (
	EnvTable          = "ONVERA_TABLE"           // DynamoDB table holding deployments, operations, keys
	EnvQueueURL       = "ONVERA_QUEUE_URL"       // SQS provisioning queue
	EnvDLQURL         = "ONVERA_DLQ_URL"         // its dead-letter queue
	EnvDLQARN         = "ONVERA_DLQ_ARN"         // lets the provisioner tell dead letters apart
	EnvBaseDomain     = "ONVERA_BASE_DOMAIN"     // deployment URLs are https://<app>.<short id>.<base domain>
	EnvProvisionDelay = "ONVERA_PROVISION_DELAY" // simulated provider work time (Go duration)
	EnvDriver         = "ONVERA_DRIVER"          // provisioning driver: "simulated" or "cloudformation"
	EnvKeyCacheTTL    = "ONVERA_KEY_CACHE_TTL"   // API key lookup cache (at most 60s)
	EnvStage          = "ONVERA_STAGE"           // local, dev, prod...
	EnvStaleAfter     = "ONVERA_STALE_AFTER"     // the reconciler re-enqueues operations overdue by this long
	EnvRateLimit      = "ONVERA_RATE_LIMIT"      // requests per second per API key per process; 0 disables
	EnvRateBurst      = "ONVERA_RATE_BURST"      // burst size per API key

	// The cloudformation driver.
	EnvProvisionTimeout = "ONVERA_PROVISION_TIMEOUT" // give up on a stack after this long (Go duration)
	EnvProvisionPoll    = "ONVERA_PROVISION_POLL"    // how often a stack is re-checked
	EnvCFNRoleARN       = "ONVERA_CFN_ROLE_ARN"      // service role CloudFormation uses for deployment stacks
	EnvCFNParameters    = "ONVERA_CFN_PARAMETERS"    // JSON object of extra stack parameters (e.g. CertificateArn)
)

// Defaults.
const (
	DefaultTable      = "onvera"
	DefaultBaseDomain = "onvera.io"
	MaxKeyCacheTTL    = 60 * time.Second
)

// Config is what every process needs.
type Config struct {
	Table          string
	QueueURL       string
	DLQURL         string
	DLQARN         string
	BaseDomain     string
	ProvisionDelay time.Duration
	Driver         string
	KeyCacheTTL    time.Duration
	Stage          string
	StaleAfter     time.Duration
	RateLimit      float64
	RateBurst      int

	ProvisionTimeout time.Duration
	ProvisionPoll    time.Duration
	CFNRoleARN       string
	CFNParameters    map[string]string
}

// Load reads the environment. Missing optional values get defaults; malformed
// values are errors so a misconfigured function fails at init, not per request.
func Load() (Config, error) {
	c := Config{
		Table:      getenv(EnvTable, DefaultTable),
		QueueURL:   os.Getenv(EnvQueueURL),
		DLQURL:     os.Getenv(EnvDLQURL),
		DLQARN:     os.Getenv(EnvDLQARN),
		BaseDomain: getenv(EnvBaseDomain, DefaultBaseDomain),
		Driver:     getenv(EnvDriver, "simulated"),
		Stage:      getenv(EnvStage, "local"),
	}
	var err error
	if c.ProvisionDelay, err = duration(EnvProvisionDelay, 3*time.Second); err != nil {
		return c, err
	}
	if c.KeyCacheTTL, err = duration(EnvKeyCacheTTL, MaxKeyCacheTTL); err != nil {
		return c, err
	}
	if c.KeyCacheTTL > MaxKeyCacheTTL {
		c.KeyCacheTTL = MaxKeyCacheTTL
	}
	if c.StaleAfter, err = duration(EnvStaleAfter, 2*time.Minute); err != nil {
		return c, err
	}
	if c.RateLimit, err = number(EnvRateLimit, 20); err != nil {
		return c, err
	}
	burst, err := number(EnvRateBurst, 40)
	if err != nil {
		return c, err
	}
	c.RateBurst = int(burst)
	if c.ProvisionTimeout, err = duration(EnvProvisionTimeout, 2*time.Hour); err != nil {
		return c, err
	}
	if c.ProvisionPoll, err = duration(EnvProvisionPoll, 15*time.Second); err != nil {
		return c, err
	}
	c.CFNRoleARN = os.Getenv(EnvCFNRoleARN)
	if v := os.Getenv(EnvCFNParameters); v != "" {
		if err := json.Unmarshal([]byte(v), &c.CFNParameters); err != nil {
			return c, fmt.Errorf("%s: must be a JSON object of strings: %w", EnvCFNParameters, err)
		}
	}
	return c, nil
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func duration(name string, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		// A bare number is taken as seconds, which is what people type.
		if n, nerr := strconv.Atoi(v); nerr == nil {
			return time.Duration(n) * time.Second, nil
		}
		return 0, fmt.Errorf("%s=%q: %w", name, v, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s=%q: must not be negative", name, v)
	}
	return d, nil
}

func number(name string, def float64) (float64, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%s=%q: must be a non-negative number", name, v)
	}
	return f, nil
}
