// Command sdkfloor is the second cold-start reference of `make bench`: a route
// Lambda reduced to what a route needs to link (the DynamoDB and SQS clients,
// attributevalue, the API Gateway proxy), with its AWS configuration taken
// from the environment Lambda provides instead of the SDK's full
// configuration loader. Its INIT against the hello-world baseline is the floor
// that trimming the real functions' imports could reach.
package main

import (
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

func main() {
	cfg := aws.Config{
		Region: os.Getenv("AWS_REGION"),
		Credentials: credentials.NewStaticCredentialsProvider(
			os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")),
	}
	if ep := os.Getenv("AWS_ENDPOINT_URL"); ep != "" {
		cfg.BaseEndpoint = &ep
	}
	db := dynamodb.NewFromConfig(cfg)
	q := sqs.NewFromConfig(cfg)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		item, _ := attributevalue.MarshalMap(map[string]string{"ok": "yes"})
		_, _, _ = db, q, item
		w.WriteHeader(http.StatusUnauthorized)
	})
	lambda.Start(httpadapter.NewV2(mux).ProxyWithContext)
}
