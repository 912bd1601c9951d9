// Package awsenv builds the SDK configuration of a Lambda function from its
// environment alone. Lambda hands a function its region and role credentials
// as environment variables, so the SDK's full loader (shared files, SSO, STS,
// instance metadata) is dead weight there: linking it roughly doubled every
// function's init time. Endpoints follow the same AWS_ENDPOINT_URL variables
// as the SDK's loader, so an emulator works unchanged.
package awsenv

import (
	"errors"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Load reads AWS_REGION (or AWS_DEFAULT_REGION), the credentials in
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN and
// AWS_ENDPOINT_URL. It makes no network call.
func Load() (aws.Config, error) {
	cfg := aws.Config{Region: os.Getenv("AWS_REGION")}
	if cfg.Region == "" {
		cfg.Region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if cfg.Region == "" {
		return cfg, errors.New("AWS_REGION is not set")
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return cfg, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	}
	cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN")))
	if ep := os.Getenv("AWS_ENDPOINT_URL"); ep != "" {
		cfg.BaseEndpoint = aws.String(ep)
	}
	return cfg, nil
}

// ServiceEndpoint is the per-service override (AWS_ENDPOINT_URL_DYNAMODB,
// AWS_ENDPOINT_URL_SQS, ...) that the SDK's loader would apply, or "".
func ServiceEndpoint(envSuffix string) string { return os.Getenv("AWS_ENDPOINT_URL_" + envSuffix) }
